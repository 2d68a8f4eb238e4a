using System.Net.Http.Headers;
using System.Net.Http.Json;
using JowiShop.ApiHost.Features.Auth;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace JowiShop.Tests.Infrastructure;

/// <summary>
/// The real ApiHost (co-hosted silo, Redis membership, PostgreSQL) in-process, against the test
/// run's servers and a database of its own.
/// </summary>
public sealed class ApiFactory(string postgres, string redis) : WebApplicationFactory<Program>
{
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
