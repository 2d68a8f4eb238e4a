using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.RateLimiting;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// A token bucket: <see cref="TokenLimit"/> requests at once, refilled by <see cref="TokensPerPeriod"/>
/// every <see cref="Period"/>. A refused request waits in no queue: it is answered 429 at once.
/// </summary>
public sealed class TokenBucketSettings
{
    public int TokenLimit { get; set; }
    public int TokensPerPeriod { get; set; }
    public TimeSpan Period { get; set; }

    public TokenBucketSettings() { }

    public TokenBucketSettings(int tokenLimit, int tokensPerPeriod, TimeSpan period) =>
        (TokenLimit, TokensPerPeriod, Period) = (tokenLimit, tokensPerPeriod, period);

    public TokenBucketRateLimiterOptions ToOptions() => new()
    {
        TokenLimit = TokenLimit,
        TokensPerPeriod = TokensPerPeriod,
        ReplenishmentPeriod = Period,
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    public void Validate(string name)
    {
        if (TokenLimit < 1 || TokensPerPeriod < 1 || Period <= TimeSpan.Zero)
            throw new InvalidOperationException(
                $"{RateLimitSettings.Section}:{name} needs TokenLimit >= 1, TokensPerPeriod >= 1 and a positive Period.");
    }
}

/// <summary>
/// The "RateLimits" configuration section. Every limit is kept in this API process's memory: with N
/// fronts behind a balancer a client gets up to N times these figures (see docs/deployment-security.md).
/// </summary>
public sealed class RateLimitSettings
{
    public const string Section = "RateLimits";

    /// <summary>
    /// Per client address, on every /auth route (login, and whatever joins the group): 20 at once, then
    /// one every 3 s (20 a minute). A shop's tills behind one NAT logging in together at opening fit in
    /// the burst; a guesser from one address gets 20 tries a minute, each costing a password hash.
    /// </summary>
    public TokenBucketSettings Auth { get; set; } = new(20, 1, TimeSpan.FromSeconds(3));

    /// <summary>Per client address, on POST /auth/register: 5 at once, then one every 12 minutes (5 an hour).</summary>
    public TokenBucketSettings Register { get; set; } = new(5, 1, TimeSpan.FromMinutes(12));

    /// <summary>
    /// Per tenant (the token's tenant_id), on every POST, PUT, PATCH and DELETE by an authenticated
    /// caller: a burst of 10,000, then 5,000 a second. Above the measured peak of one 2-core front
    /// (about 2,300 receipts a second for one tenant) and the ~3,000 a second bench/run may send, so it
    /// never refuses a real till load; it bounds one tenant's share of a larger machine.
    /// </summary>
    public TokenBucketSettings TenantWrites { get; set; } = new(10_000, 5_000, TimeSpan.FromSeconds(1));

    public LoginThrottleSettings Login { get; set; } = new();

    public PasswordHashingSettings PasswordHashing { get; set; } = new();

    public void Validate()
    {
        Auth.Validate(nameof(Auth));
        Register.Validate(nameof(Register));
        TenantWrites.Validate(nameof(TenantWrites));
        Login.Validate();
        PasswordHashing.Validate();
    }
}

/// <summary>The rate limiter's policies and the 429 answer they share.</summary>
public static class RateLimits
{
    /// <summary>Per client address: every /auth route.</summary>
    public const string Auth = "auth";

    /// <summary>Per client address: POST /auth/register (tighter than <see cref="Auth"/>).</summary>
    public const string Register = "register";

    public static IServiceCollection AddJowiShopRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = configuration.GetSection(RateLimitSettings.Section).Get<RateLimitSettings>() ?? new RateLimitSettings();
        settings.Validate();
        services.AddSingleton(settings);
        services.AddSingleton(settings.Login);
        services.AddSingleton(settings.PasswordHashing);
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<PasswordHashGate>();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                return new ValueTask(Problem(context.HttpContext, retryAfter).ExecuteAsync(context.HttpContext));
            };
            o.AddPolicy(Auth, http => RateLimitPartition.GetTokenBucketLimiter(ClientKey(http), _ => settings.Auth.ToOptions()));
            o.AddPolicy(Register, http => RateLimitPartition.GetTokenBucketLimiter(ClientKey(http), _ => settings.Register.ToOptions()));
            // Writes by a tenant's staff, whatever the endpoint; reads and anonymous routes are not counted here.
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                IsWrite(http.Request.Method) && http.User.FindFirst(TenantClaims.TenantId)?.Value is { } tenant
                    ? RateLimitPartition.GetTokenBucketLimiter(tenant, _ => settings.TenantWrites.ToOptions())
                    : RateLimitPartition.GetNoLimiter(""));
        });
        return services;
    }

    /// <summary>
    /// 429 <c>request.rate_limited</c> with Retry-After (whole seconds, at least 1). For handlers that
    /// refuse by their own count, such as login behind <see cref="LoginThrottle"/>.
    /// </summary>
    public static ProblemHttpResult Problem(HttpContext http, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ApiProblems.Problem(StatusCodes.Status429TooManyRequests, "request.rate_limited", "Too many requests",
            $"Too many requests; retry after {seconds} second{(seconds == 1 ? "" : "s")}.");
    }

    private static bool IsWrite(string method) =>
        HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method);

    /// <summary>
    /// The caller's address as the rate limits count it (after ForwardedHeaders: the client, not the
    /// balancer, when the balancer is a known proxy). IPv6 counts by /64: one host usually holds a
    /// whole /64, so single addresses would be free to rotate.
    /// </summary>
    public static string ClientKey(HttpContext http)
    {
        var address = http.Connection.RemoteIpAddress;
        if (address is null)
            return "unknown";
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            return address.ToString();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
