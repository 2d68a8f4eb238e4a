using System.Net.Http.Headers;
using System.Net.Http.Json;
using JowiShop.ApiHost.Features.Auth;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace JowiShop.Tests.Infrastructure;

/// <summary>
/// The real ApiHost (co-hosted silo, Redis membership, PostgreSQL) in-process, against the test
/// run's servers and a database of its own. The rate limits are lifted (the tests register and log in
/// far more often than one client address may); <paramref name="settings"/> overrides any setting,
/// e.g. tight limits for the tests of the limits themselves.
/// </summary>
public sealed class ApiFactory(string postgres, string redis, IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    /// <summary>Limits no test reaches: the test server has one client address for every test of a class.</summary>
    public static readonly IReadOnlyDictionary<string, string?> LiftedRateLimits = new Dictionary<string, string?>
    {
        ["RateLimits:Auth:TokenLimit"] = "1000000",
        ["RateLimits:Auth:TokensPerPeriod"] = "1000000",
        ["RateLimits:Auth:Period"] = "00:00:01",
        ["RateLimits:Register:TokenLimit"] = "1000000",
        ["RateLimits:Register:TokensPerPeriod"] = "1000000",
        ["RateLimits:Register:Period"] = "00:00:01",
        ["RateLimits:TenantWrites:TokenLimit"] = "1000000",
        ["RateLimits:TenantWrites:TokensPerPeriod"] = "1000000",
        ["RateLimits:TenantWrites:Period"] = "00:00:01",
        // Parallel test classes hash passwords on 2 cores: a wait bound no test run reaches.
        ["RateLimits:PasswordHashing:MaxWait"] = "00:05:00",
    };

    private readonly int _siloPort = LocalServices.FreePort();
    private readonly int _gatewayPort = LocalServices.FreePort();
    private readonly string _clusterId = "test-" + Guid.NewGuid().ToString("N")[..12];

    public string PostgresConnectionString => postgres;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("ConnectionStrings:Postgres", postgres);
        builder.UseSetting("ConnectionStrings:Redis", redis);
        builder.UseSetting("Orleans:ClusterId", _clusterId);
        builder.UseSetting("Orleans:SiloPort", _siloPort.ToString());
        builder.UseSetting("Orleans:GatewayPort", _gatewayPort.ToString());
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore.HttpLogging.HttpLoggingMiddleware", "Warning");
        // The test server has no request body size feature: RequestBodyLimits counts instead, and routing's warning is noise.
        builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore.Routing.EndpointRoutingMiddleware", "Error");
        foreach (var (key, value) in LiftedRateLimits)
            builder.UseSetting(key, value);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            builder.UseSetting(key, value);
    }

    /// <summary>A client carrying a bearer token for this login.</summary>
    public async Task<HttpClient> LoginAsync(string login, string password)
    {
        var client = CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { login, password });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<LoginResponse>();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body!.AccessToken);
        return client;
    }

    /// <summary>Registers a fresh business and returns a client logged in as its owner.</summary>
    public async Task<(HttpClient Client, RegisterResponse Registration)> RegisterAsync(string? suffix = null)
    {
        suffix ??= Guid.NewGuid().ToString("N")[..10];
        var client = CreateClient();
        var phoneDigits = Random.Shared.NextInt64(1_000_000, 9_999_999);
        var response = await client.PostAsJsonAsync("/api/v1/auth/register", new
        {
            businessName = $"Shop {suffix}",
            ownerName = $"Owner {suffix}",
            email = $"owner-{suffix}@example.com",
            phone = $"+99897{phoneDigits}",
            password = "Secret#12345",
        });
        response.EnsureSuccessStatusCode();
        var registration = (await response.Content.ReadFromJsonAsync<RegisterResponse>())!;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", registration.AccessToken);
        return (client, registration);
    }
}
