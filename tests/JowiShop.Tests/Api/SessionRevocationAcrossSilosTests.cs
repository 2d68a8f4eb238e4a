using System.Net;
using System.Net.Http.Json;
using JowiShop.Grains.Abstractions;
using JowiShop.Tests.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>Two API processes' silos in one cluster, one database: every check answers from a lease held in its process.</summary>
public sealed class TwoSiloFixture : IAsyncLifetime
{
    public ApiFactory First { get; private set; } = null!;
    public ApiFactory Second { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var servers = await LocalServices.GetAsync();
        var postgres = await LocalServices.CreateDatabaseAsync("revocation");
        var cluster = new Dictionary<string, string?> { ["Orleans:ClusterId"] = "revocation-" + Guid.NewGuid().ToString("N")[..12] };
        First = new ApiFactory(postgres, servers.RedisConnectionString, cluster);
        _ = First.Server;
        Second = new ApiFactory(postgres, servers.RedisConnectionString, cluster);
        _ = Second.Server;
    }

    public async Task DisposeAsync()
    {
        await Second.DisposeAsync();
        await First.DisposeAsync();
    }
}

/// <summary>
/// Access taken away on one silo is refused at the very next request on the other, although both
/// answer session checks from their own process's lease (issue 11: "on every silo").
/// </summary>
public sealed class SessionRevocationAcrossSilosTests(TwoSiloFixture silos) : IClassFixture<TwoSiloFixture>
{
    [Fact]
    public async Task A_change_answered_by_one_silo_is_seen_by_the_next_request_on_the_other()
    {
        var (owner, registration) = await silos.First.RegisterAsync();
        for (var round = 0; round < 5; round++)
        {
            var admin = await TestUsers.AddAsync(silos.First, registration.TenantId, Roles.Admin);
            var elsewhere = silos.Second.CreateClient();
            elsewhere.DefaultRequestHeaders.Authorization = admin.Client.DefaultRequestHeaders.Authorization;
            // Both processes now hold a lease of the admin's access.
            (await admin.Client.GetAsync("/api/v1/stores")).EnsureSuccessStatusCode();
            (await elsewhere.GetAsync("/api/v1/stores")).EnsureSuccessStatusCode();

            var change = round % 2 == 0
                ? await owner.DeleteAsync($"/api/v1/employees/{admin.EmployeeId}")
                : await owner.PatchAsJsonAsync($"/api/v1/employees/{admin.EmployeeId}", new { role = "cashier" });
            change.EnsureSuccessStatusCode();
            await (await elsewhere.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
            await (await admin.Client.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
        }

        // Logout through the second silo ends the session held by the first.
        var cashier = await TestUsers.AddAsync(silos.First, registration.TenantId, Roles.Cashier);
        var other = silos.Second.CreateClient();
        other.DefaultRequestHeaders.Authorization = cashier.Client.DefaultRequestHeaders.Authorization;
        (await cashier.Client.GetAsync("/api/v1/stores")).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.NoContent, (await other.PostAsync("/api/v1/auth/logout", null)).StatusCode);
        await (await cashier.Client.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
    }
}
