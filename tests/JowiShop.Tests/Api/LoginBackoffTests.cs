using System.Net;
using System.Net.Http.Json;
using JowiShop.Tests.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>An API whose per-login back-off starts after 2 failures with a 10-minute wait (so the test never races the clock).</summary>
public sealed class LoginBackoffFixture : IAsyncLifetime
{
    public ApiFactory Factory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var servers = await LocalServices.GetAsync();
        var postgres = await LocalServices.CreateDatabaseAsync("backoff");
        Factory = new ApiFactory(postgres, servers.RedisConnectionString, new Dictionary<string, string?>
        {
            ["RateLimits:Login:FreeFailures"] = "2",
            ["RateLimits:Login:FirstDelay"] = "00:10:00",
            ["RateLimits:Login:MaxDelay"] = "01:00:00",
        });
        _ = Factory.Server;
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

/// <summary>Password guessing is bounded per login (issue 11, item 8): the handler waits out repeated failures.</summary>
public sealed class LoginBackoffTests(LoginBackoffFixture fixture) : IClassFixture<LoginBackoffFixture>
{
    [Fact]
    public async Task Repeated_failures_for_one_login_make_it_wait_even_with_the_right_password_and_leave_others_alone()
    {
        var (_, registration) = await fixture.Factory.RegisterAsync();
        var victim = await TestUsers.AddAsync(fixture.Factory, registration.TenantId, "cashier");
        var bystander = await TestUsers.AddAsync(fixture.Factory, registration.TenantId, "cashier");
        var client = fixture.Factory.CreateClient();
        Task<HttpResponseMessage> Login(string login, string password) => client.PostAsJsonAsync("/api/v1/auth/login", new { login, password });

        for (var i = 0; i < 3; i++)
            await (await Login(victim.Email, "Wrong#guess" + i)).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.invalid_credentials");
        var refused = await Login(victim.Email, TestUsers.Password);
        await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "request.rate_limited");
        Assert.InRange(int.Parse(refused.Headers.GetValues("Retry-After").Single()), 1, 600);
        // The same login spelt in upper case is the same login.
        await (await Login(victim.Email.ToUpperInvariant(), TestUsers.Password)).AssertProblemAsync(HttpStatusCode.TooManyRequests, "request.rate_limited");
        // Unknown logins are throttled alike, so the back-off does not tell which logins exist.
        var unknown = $"nobody-{Guid.NewGuid():N}@example.com";
        for (var i = 0; i < 3; i++)
            await (await Login(unknown, "Wrong#guess" + i)).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.invalid_credentials");
        await (await Login(unknown, "Wrong#guess")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "request.rate_limited");

        (await Login(bystander.Email, TestUsers.Password)).EnsureSuccessStatusCode();
    }
}
