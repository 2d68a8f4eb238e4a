using JowiShop.ApiHost.Infrastructure;
using Microsoft.IdentityModel.Tokens;
using Xunit;

namespace JowiShop.Tests.Unit;

public sealed class ValidatedTokenCacheTests
{
    private static readonly JwtSettings Settings = new() { SigningKey = JwtSettings.DevelopmentSigningKey };

    private static TokenValidationParameters Parameters() => new()
    {
        ValidIssuer = Settings.Issuer,
        ValidAudience = Settings.Audience,
        IssuerSigningKey = Settings.Key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
    };

    [Fact]
    public async Task A_cached_token_stays_valid_and_a_tampered_copy_is_still_refused()
    {
        var cache = new ValidatedTokenCache(TimeProvider.System);
        var (token, _) = new AccessTokenIssuer(Settings, TimeProvider.System).Issue(Guid.NewGuid(), Guid.NewGuid(), "owner", "Owner", 1);

        Assert.True((await cache.ValidateTokenAsync(token, Parameters())).IsValid);
        Assert.True((await cache.ValidateTokenAsync(token, Parameters())).IsValid);

        var tampered = token[..^2] + (token[^2] == 'A' ? "BB" : "AA");
        Assert.False((await cache.ValidateTokenAsync(tampered, Parameters())).IsValid);
    }

    [Fact]
    public async Task A_cached_token_past_its_expiry_is_not_answered_from_memory()
    {
        var clock = new MovableClock(DateTimeOffset.UtcNow);
        var cache = new ValidatedTokenCache(clock);
        var (token, _) = new AccessTokenIssuer(new JwtSettings { SigningKey = JwtSettings.DevelopmentSigningKey, AccessTokenLifetime = TimeSpan.FromMinutes(5) }, TimeProvider.System)
            .Issue(Guid.NewGuid(), Guid.NewGuid(), "owner", "Owner", 1);
        Assert.True((await cache.ValidateTokenAsync(token, Parameters())).IsValid);

        // Past the token's expiry the cache must not vouch for it: with validation parameters that
        // refuse everything, an answer from memory would still say valid.
        clock.Now = clock.Now.AddMinutes(6);
        var refuseAll = Parameters();
        refuseAll.ValidIssuer = "someone-else";
        Assert.False((await cache.ValidateTokenAsync(token, refuseAll)).IsValid);
    }

    private sealed class MovableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}
