using System.Net;
using System.Net.Http.Json;
using JowiShop.Grains.Abstractions;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Api;

public sealed class StoreTerminalTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Stores_are_created_changed_listed_and_closed_through_the_tenant_grain()
    {
        var (owner, registration) = await api.Factory.RegisterAsync();
        var created = await (await owner.PostAsJsonAsync("/api/v1/stores",
            new { name = "Yunusobod", address = "Amir Temur 1", phone = "+998 71 200 00 00", timeZone = "Asia/Samarkand" })).ReadAsync<Store>(HttpStatusCode.Created);
        Assert.Equal(("+998712000000", "Asia/Samarkand"), (created.Phone, created.TimeZone));

        var list = await (await owner.GetAsync("/api/v1/stores")).ReadAsync<ListPage<Store>>();
        Assert.Equal(2, list.Total);
        Assert.Contains(list.Items, s => s.Id == created.Id);

        var renamed = await (await owner.PatchAsJsonAsync($"/api/v1/stores/{created.Id}", new { name = "Yunusobod 2", timeZone = (string?)null })).ReadAsync<Store>();
        Assert.Equal(("Yunusobod 2", null, "Amir Temur 1"), (renamed.Name, renamed.TimeZone, renamed.Address));
        Assert.Equal("Yunusobod 2", (await (await owner.GetAsync($"/api/v1/stores/{created.Id}")).ReadAsync<Store>()).Name);

        var terminal = await (await owner.PostAsJsonAsync("/api/v1/terminals", new { storeId = created.Id, name = "Till A" })).ReadAsync<Terminal>(HttpStatusCode.Created);
        await (await owner.DeleteAsync($"/api/v1/stores/{created.Id}")).AssertProblemAsync(HttpStatusCode.Conflict, "store.has_terminals");
        (await owner.DeleteAsync($"/api/v1/terminals/{terminal.Id}")).EnsureSuccessStatusCode();
        (await owner.DeleteAsync($"/api/v1/stores/{created.Id}")).EnsureSuccessStatusCode();
        await (await owner.GetAsync($"/api/v1/stores/{created.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "store.not_found");
        Assert.Equal(1, (await (await owner.GetAsync("/api/v1/stores")).ReadAsync<ListPage<Store>>()).Total);

        await using var db = NpgsqlDataSource.Create(api.Factory.PostgresConnectionString);
        await using var cmd = db.CreateCommand("SELECT deleted_at IS NOT NULL FROM stores WHERE id = $1");
        cmd.Parameters.AddWithValue(created.Id);
        Assert.True((bool)(await cmd.ExecuteScalarAsync())!);
        _ = registration;
    }

    [Fact]
    public async Task Store_lists_page_with_totals()
    {
        var (owner, _) = await api.Factory.RegisterAsync();
        for (var i = 0; i < 24; i++)
            (await owner.PostAsJsonAsync("/api/v1/stores", new { name = $"Branch {i:D2}" })).EnsureSuccessStatusCode();
        var seen = new List<Guid>();
        for (var page = 1; page <= 3; page++)
        {
            var result = await (await owner.GetAsync($"/api/v1/stores?page={page}&limit=10")).ReadAsync<ListPage<Store>>();
            Assert.Equal(25, result.Total);
            seen.AddRange(result.Items.Select(s => s.Id));
        }
        Assert.Equal(25, seen.Distinct().Count());
    }

    [Fact]
    public async Task Terminals_belong_to_a_store_and_are_validated_and_guarded()
    {
        var (owner, registration) = await api.Factory.RegisterAsync();
        var terminal = await (await owner.PostAsJsonAsync("/api/v1/terminals", new { storeId = registration.StoreId, name = "Till 1" })).ReadAsync<Terminal>(HttpStatusCode.Created);
        var inStore = await (await owner.GetAsync($"/api/v1/stores/{registration.StoreId}/terminals")).ReadAsync<ListPage<Terminal>>();
        Assert.Equal([terminal.Id], inStore.Items.Select(t => t.Id));
        var renamed = await (await owner.PatchAsJsonAsync($"/api/v1/terminals/{terminal.Id}", new { name = "Till One" })).ReadAsync<Terminal>();
        Assert.Equal("Till One", renamed.Name);

        var problem = await (await owner.PostAsJsonAsync("/api/v1/terminals", new { storeId = Guid.NewGuid(), name = "" }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("name", out _));
        await (await owner.PostAsJsonAsync("/api/v1/terminals", new { storeId = Guid.NewGuid(), name = "X" })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");

        var manager = await TestUsers.AddAndLoginAsync(api.Factory, registration.TenantId, "manager");
        await (await manager.PostAsJsonAsync("/api/v1/terminals", new { storeId = registration.StoreId, name = "Till 2" })).AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        await (await manager.PostAsJsonAsync("/api/v1/stores", new { name = "Nope" })).AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        (await manager.GetAsync($"/api/v1/terminals/{terminal.Id}")).EnsureSuccessStatusCode();
        var admin = await TestUsers.AddAndLoginAsync(api.Factory, registration.TenantId, "admin");
        (await admin.PostAsJsonAsync("/api/v1/terminals", new { storeId = registration.StoreId, name = "Till 2" })).EnsureSuccessStatusCode();

        var (stranger, _) = await api.Factory.RegisterAsync();
        await (await stranger.GetAsync($"/api/v1/terminals/{terminal.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "terminal.not_found");
        await (await stranger.PatchAsJsonAsync($"/api/v1/terminals/{terminal.Id}", new { name = "Mine" })).AssertProblemAsync(HttpStatusCode.NotFound, "terminal.not_found");
        await (await stranger.DeleteAsync($"/api/v1/terminals/{terminal.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "terminal.not_found");
        await (await stranger.PatchAsJsonAsync($"/api/v1/stores/{registration.StoreId}", new { name = "Mine" })).AssertProblemAsync(HttpStatusCode.NotFound, "store.not_found");
        await (await stranger.GetAsync($"/api/v1/stores/{registration.StoreId}/terminals")).AssertProblemAsync(HttpStatusCode.NotFound, "store.not_found");
        // A terminal can only ring up sales in its own store.
        await (await stranger.PostAsJsonAsync("/api/v1/terminals", new { storeId = registration.StoreId, name = "Sneaky" })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
    }
}
