using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>The "Jwt" configuration section: HS256 signing key, issuer, audience, lifetime.</summary>
public sealed class JwtSettings
{
    public const string Section = "Jwt";

    /// <summary>The key shipped in appsettings.Development.json; refused outside Development.</summary>
    public const string DevelopmentSigningKey = "jowishop-development-signing-key-do-not-use-in-production-0001";

    public string SigningKey { get; set; } = "";
    public string Issuer { get; set; } = "jowishop";
    public string Audience { get; set; } = "jowishop-api";
    // Short: an access token is only a cache of the session; the session version it carries is
    // checked on every request anyway, and a till renews it with its refresh token.
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);
    // Long enough for a till to go through a weekend closed; every use rotates it.
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    public SymmetricSecurityKey Key => new(Encoding.UTF8.GetBytes(SigningKey));

    /// <summary>Fails start-up on a missing or weak key, and on the development key outside Development.</summary>
    public void Validate(IHostEnvironment environment)
    {
        if (Encoding.UTF8.GetByteCount(SigningKey) < 32)
            throw new InvalidOperationException("Jwt:SigningKey must be set and at least 32 bytes long (HS256).");
        if (SigningKey == DevelopmentSigningKey && !environment.IsDevelopment())
            throw new InvalidOperationException(
                $"Jwt:SigningKey is the development key; refusing to start in {environment.EnvironmentName}. Set Jwt__SigningKey.");
        if (!environment.IsDevelopment() && SigningKeyPolicy.Problem(SigningKey) is { } problem)
            throw new InvalidOperationException(
                $"Jwt:SigningKey {problem}; refusing to start in {environment.EnvironmentName}. Set Jwt__SigningKey to the output of: openssl rand -base64 48");
    }
}

/// <summary>Issues access tokens carrying user id, tenant id, role and the user's session version.</summary>
public sealed class AccessTokenIssuer(JwtSettings settings, TimeProvider clock)
{
    private readonly JsonWebTokenHandler _handler = new();
    private readonly SigningCredentials _credentials = new(settings.Key, SecurityAlgorithms.HmacSha256);

    public (string Token, int ExpiresInSeconds) Issue(Guid userId, Guid tenantId, string role, string name, long sessionVersion)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Audience = settings.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + settings.AccessTokenLifetime,
            SigningCredentials = _credentials,
            Subject = new ClaimsIdentity(
            [
                new Claim(TenantClaims.UserId, userId.ToString()),
                new Claim(TenantClaims.TenantId, tenantId.ToString()),
                new Claim(TenantClaims.Role, role),
                new Claim(TenantClaims.Name, name),
                new Claim(TenantClaims.SessionVersion, sessionVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ]),
        });
        return (token, (int)settings.AccessTokenLifetime.TotalSeconds);
    }
}
