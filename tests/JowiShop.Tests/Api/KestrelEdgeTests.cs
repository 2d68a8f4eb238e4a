using System.Net;
using System.Net.Http.Json;
using System.Text;
using JowiShop.Tests.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>
/// One ApiHost behind a real Kestrel socket (chunked bodies, client addresses, forwarded headers as a
/// balancer on loopback sends them) with tight rate limits, none of them replenished within a test.
/// </summary>
public sealed class KestrelEdgeFixture : IAsyncLifetime
{
    public const int AuthLimit = 10;
    public const int RegisterLimit = 5;
    public const int TenantWriteLimit = 20;

    public ApiFactory Factory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var servers = await LocalServices.GetAsync();
        var postgres = await LocalServices.CreateDatabaseAsync("edge");
        Factory = new ApiFactory(postgres, servers.RedisConnectionString, new Dictionary<string, string?>
        {
            ["RateLimits:Auth:TokenLimit"] = AuthLimit.ToString(),
            ["RateLimits:Auth:TokensPerPeriod"] = "1",
            ["RateLimits:Auth:Period"] = "01:00:00",
            ["RateLimits:Register:TokenLimit"] = RegisterLimit.ToString(),
            ["RateLimits:Register:TokensPerPeriod"] = "1",
            ["RateLimits:Register:Period"] = "01:00:00",
            ["RateLimits:TenantWrites:TokenLimit"] = TenantWriteLimit.ToString(),
            ["RateLimits:TenantWrites:TokensPerPeriod"] = "1",
            ["RateLimits:TenantWrites:Period"] = "01:00:00",
            // The per-address limit is under test here, not the per-login back-off (LoginBackoffTests).
            ["RateLimits:Login:FreeFailures"] = "1000000",
            // Only a tenant that does not exist operates this deployment: no test tenant is an operator.
            ["Operations:OperatorTenants:0"] = Guid.NewGuid().ToString(),
        });
        Factory.UseKestrel(LocalServices.FreePort());
        Factory.StartServer();
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

public sealed class KestrelEdgeTests(KestrelEdgeFixture edge) : IClassFixture<KestrelEdgeFixture>
{
    private int _registrations;

    /// <summary>A client the API sees at this address, as forwarded by a balancer on loopback (a known proxy by default).</summary>
    private HttpClient From(string address)
    {
        var client = edge.Factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Forwarded-For", address);
        return client;
    }

    private object Registration() => new
    {
        businessName = "Edge shop",
        ownerName = "Edge owner",
        email = $"edge-{Guid.NewGuid():N}@example.com",
        phone = $"+99899{Random.Shared.Next(1_000_000, 9_999_999)}",
        password = $"Secret#{Interlocked.Increment(ref _registrations)}2345",
    };

    private static async Task AssertRateLimitedAsync(HttpResponseMessage response)
    {
        var problem = await response.AssertProblemAsync(HttpStatusCode.TooManyRequests, "request.rate_limited");
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.True(retryAfter >= TimeSpan.FromSeconds(1), $"Retry-After: {response.Headers.RetryAfter}");
        Assert.Contains($"retry after {(long)retryAfter!.Value.TotalSeconds} second", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task The_sixth_rapid_register_from_one_address_is_429_with_Retry_After()
    {
        var client = From("198.51.100.10");
        for (var i = 0; i < KestrelEdgeFixture.RegisterLimit; i++)
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/auth/register", Registration())).StatusCode);
        await AssertRateLimitedAsync(await client.PostAsJsonAsync("/api/v1/auth/register", Registration()));

        // Counted per address: another client is not refused.
        Assert.Equal(HttpStatusCode.Created, (await From("198.51.100.11").PostAsJsonAsync("/api/v1/auth/register", Registration())).StatusCode);
    }

    [Fact]
    public async Task Login_attempts_beyond_the_per_address_limit_are_429()
    {
        var client = From("2001:db8:7:1::1");
        for (var i = 0; i < KestrelEdgeFixture.AuthLimit; i++)
            await (await client.PostAsJsonAsync("/api/v1/auth/login", new { login = "guess@example.com", password = $"Guess#{i}" }))
                .AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.invalid_credentials");
        await AssertRateLimitedAsync(await client.PostAsJsonAsync("/api/v1/auth/login", new { login = "guess@example.com", password = "Guess#x" }));
        // IPv6 counts by /64: another address in the same /64 is the same client; another /64 is not.
        await AssertRateLimitedAsync(await From("2001:db8:7:1::2").PostAsJsonAsync("/api/v1/auth/login", new { login = "guess@example.com", password = "Guess#y" }));
        await (await From("2001:db8:7:2::1").PostAsJsonAsync("/api/v1/auth/login", new { login = "guess@example.com", password = "Guess#z" }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.invalid_credentials");
    }

    [Fact]
    public async Task Writes_beyond_a_tenants_limit_are_429_and_other_tenants_keep_writing()
    {
        var (busy, _) = await edge.Factory.RegisterAsync();
        var (other, _) = await edge.Factory.RegisterAsync();
        for (var i = 0; i < KestrelEdgeFixture.TenantWriteLimit; i++)
            Assert.Equal(HttpStatusCode.Created, (await busy.PostAsJsonAsync("/api/v1/categories", new { name = $"Category {i}" })).StatusCode);
        await AssertRateLimitedAsync(await busy.PostAsJsonAsync("/api/v1/categories", new { name = "One too many" }));

        Assert.Equal(HttpStatusCode.Created, (await other.PostAsJsonAsync("/api/v1/categories", new { name = "Elsewhere" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await busy.GetAsync("/api/v1/categories")).StatusCode); // reads are not counted
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_a_413_problem()
    {
        var client = From("198.51.100.30");
        var over = Chunked($$"""{"login":"a@example.com","password":"{{new string('x', 100_000)}}"}""");
        await (await client.PostAsync("/api/v1/auth/login", over)).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "request.too_large");

        var under = Chunked("""{"login":"a@example.com","password":"Wrong#12345"}""");
        await (await client.PostAsync("/api/v1/auth/login", under)).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.invalid_credentials");

        var declared = new StringContent($$"""{"login":"a@example.com","password":"{{new string('x', 100_000)}}"}""", Encoding.UTF8, "application/json");
        await (await client.PostAsync("/api/v1/auth/login", declared)).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "request.too_large");
    }

    [Fact]
    public async Task Strict_transport_security_is_sent_for_https_forwarded_by_a_known_proxy()
    {
        var client = From("198.51.100.40");
        var plain = await client.GetAsync("/api/v1/health");
        Assert.False(plain.Headers.Contains("Strict-Transport-Security"));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/health") { Headers = { { "X-Forwarded-Proto", "https" } } };
        var forwarded = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, forwarded.StatusCode);
        Assert.Equal("max-age=31536000", string.Join(",", forwarded.Headers.GetValues("Strict-Transport-Security")));
    }

    [Fact]
    public async Task A_tenant_owner_who_is_not_an_operator_sees_neither_the_cache_nor_the_checks()
    {
        var (owner, _) = await edge.Factory.RegisterAsync();
        await (await owner.GetAsync("/api/v1/health/cache")).AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        var ready = await owner.GetAsync("/api/v1/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("{\"status\":\"ok\"}", await ready.Content.ReadAsStringAsync());
    }

    private static StreamContent Chunked(string json)
    {
        var content = new StreamContent(new UnseekableStream(Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new("application/json");
        return content;
    }

    /// <summary>HttpClient cannot tell this body's length, so it sends it chunked.</summary>
    private sealed class UnseekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
