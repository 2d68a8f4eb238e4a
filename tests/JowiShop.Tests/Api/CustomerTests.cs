using System.Net;
using System.Net.Http.Json;
using JowiShop.ApiHost.Features.Customers;
using JowiShop.Grains.Abstractions.Customers;
using JowiShop.Grains.Abstractions;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Api;

public sealed class CustomerTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static async Task<Customer> CreateAsync(HttpClient client, object body) =>
        await (await client.PostAsJsonAsync("/api/v1/customers", body)).ReadAsync<Customer>(HttpStatusCode.Created);

    [Fact]
    public async Task Crud_round_trip_with_normalized_contacts_and_partial_updates()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        var response = await client.PostAsJsonAsync("/api/v1/customers",
            new { name = "  G'ulom Yo'ldoshev ", phone = "+998 90 555 12 34", email = "Gulom@Example.UZ", cardCode = "C000000001", notes = "VIP" });
        var created = await response.ReadAsync<Customer>(HttpStatusCode.Created);
        Assert.Equal($"/api/v1/customers/{created.Id}", response.Headers.Location?.ToString());
        Assert.Equal(("G'ulom Yo'ldoshev", "+998905551234", "gulom@example.uz"), (created.Name, created.Phone, created.Email));

        var patched = await (await client.PatchAsJsonAsync($"/api/v1/customers/{created.Id}", new { email = (string?)null, notes = "regular" })).ReadAsync<Customer>();
        Assert.Null(patched.Email);
        Assert.Equal("regular", patched.Notes);
        Assert.Equal(created.Phone, patched.Phone); // absent: unchanged
        Assert.Equal(created.CardCode, patched.CardCode);

        Assert.Equal(created.Id, (await (await client.GetAsync("/api/v1/customers/by-phone/998905551234")).ReadAsync<Customer>()).Id);
        Assert.Equal(created.Id, (await (await client.GetAsync("/api/v1/customers/by-card/C000000001")).ReadAsync<Customer>()).Id);

        (await client.DeleteAsync($"/api/v1/customers/{created.Id}")).EnsureSuccessStatusCode();
        await (await client.GetAsync($"/api/v1/customers/{created.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "customer.not_found");
        await (await client.GetAsync("/api/v1/customers/by-phone/+998905551234")).AssertProblemAsync(HttpStatusCode.NotFound, "customer.not_found");
        await (await client.GetAsync("/api/v1/customers/by-card/C000000001")).AssertProblemAsync(HttpStatusCode.NotFound, "customer.not_found");
        await (await client.DeleteAsync($"/api/v1/customers/{created.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "customer.not_found");
        var list = await (await client.GetAsync("/api/v1/customers")).ReadAsync<ListPage<Customer>>();
        Assert.DoesNotContain(list.Items, c => c.Id == created.Id);
        // The total comes from a trigger-kept counter: it must follow the soft delete.
        Assert.Equal(list.Items.Count, list.Total);

        await using var db = NpgsqlDataSource.Create(api.Factory.PostgresConnectionString);
        await using var cmd = db.CreateCommand("SELECT deleted_at IS NOT NULL FROM customers WHERE id = $1");
        cmd.Parameters.AddWithValue(created.Id);
        Assert.True((bool)(await cmd.ExecuteScalarAsync())!, "the soft-deleted row stays");
    }

    [Fact]
    public async Task Lists_page_stably_and_filter_by_name_phone_and_email()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        for (var i = 0; i < 22; i++)
            await CreateAsync(client, new { name = $"Customer {i:D2}" });
        var olga = await CreateAsync(client, new { name = "Ольга Иванова", phone = "+998 93 700 11 22" });
        var otkir = await CreateAsync(client, new { name = "O'tkir G'aniyev", email = "otkir@mail.uz" });
        var anna = await CreateAsync(client, new { name = "Anna Smith", email = "anna.smith@example.com" });

        var seen = new List<Guid>();
        for (var page = 1; page <= 3; page++)
        {
            var result = await (await client.GetAsync($"/api/v1/customers?page={page}&limit=10")).ReadAsync<ListPage<Customer>>();
            Assert.Equal(25, result.Total);
            seen.AddRange(result.Items.Select(c => c.Id));
        }
        Assert.Equal(25, seen.Distinct().Count());

        async Task<Guid[]> Find(string query) =>
            (await (await client.GetAsync($"/api/v1/customers?query={Uri.EscapeDataString(query)}")).ReadAsync<ListPage<Customer>>()).Items.Select(c => c.Id).ToArray();
        Assert.Equal([olga.Id], await Find("ольга"));
        Assert.Equal([otkir.Id], await Find("g'aniy"));
        Assert.Equal([olga.Id], await Find("7001122"));
        Assert.Equal([anna.Id], await Find("ANNA.SM"));
        Assert.Equal([otkir.Id], await Find("otkir@"));
        await (await client.GetAsync("/api/v1/customers?query=a")).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
    }

    [Fact]
    public async Task Validation_and_conflicts_name_the_field_and_the_holder()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        var problem = await (await client.PostAsJsonAsync("/api/v1/customers", new { name = "", phone = "12", email = "x@", cardCode = "has space", notes = new string('n', 2001) }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        foreach (var field in new[] { "name", "phone", "email", "cardCode", "notes" })
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}");

        var first = await CreateAsync(client, new { name = "First", phone = "+998901110000", cardCode = "CARD-1" });
        var samePhone = await (await client.PostAsJsonAsync("/api/v1/customers", new { name = "Second", phone = "90 111 00 00" }))
            .AssertProblemAsync(HttpStatusCode.Conflict, "customer.phone_taken");
        Assert.Equal(first.Id.ToString(), samePhone.GetProperty("conflictingId").GetString());
        await (await client.PostAsJsonAsync("/api/v1/customers", new { name = "Third", cardCode = "CARD-1" }))
            .AssertProblemAsync(HttpStatusCode.Conflict, "customer.card_taken");

        var (other, _) = await api.Factory.RegisterAsync();
        await CreateAsync(other, new { name = "Elsewhere", phone = "+998901110000", cardCode = "CARD-1" });
    }

    [Fact]
    public async Task Cashiers_read_managers_write_and_other_tenants_get_404()
    {
        var (owner, registration) = await api.Factory.RegisterAsync();
        var customer = await CreateAsync(owner, new { name = "Malika", phone = "+998977770000", cardCode = "M-1" });
        var cashier = await TestUsers.AddAndLoginAsync(api.Factory, registration.TenantId, "cashier");
        (await cashier.GetAsync($"/api/v1/customers/{customer.Id}")).EnsureSuccessStatusCode();
        await (await cashier.PostAsJsonAsync("/api/v1/customers", new { name = "X" })).AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        await (await cashier.DeleteAsync($"/api/v1/customers/{customer.Id}")).AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");

        var (stranger, _) = await api.Factory.RegisterAsync();
        await (await stranger.GetAsync($"/api/v1/customers/{customer.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "customer.not_found");
        await (await stranger.PatchAsJsonAsync($"/api/v1/customers/{customer.Id}", new { name = "Mine" })).AssertProblemAsync(HttpStatusCode.NotFound, "customer.not_found");
        await (await stranger.DeleteAsync($"/api/v1/customers/{customer.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "customer.not_found");
        await (await stranger.GetAsync("/api/v1/customers/by-phone/+998977770000")).AssertProblemAsync(HttpStatusCode.NotFound, "customer.not_found");
        await (await stranger.GetAsync("/api/v1/customers/by-card/M-1")).AssertProblemAsync(HttpStatusCode.NotFound, "customer.not_found");
        Assert.Equal("Malika", (await (await owner.GetAsync($"/api/v1/customers/{customer.Id}")).ReadAsync<Customer>()).Name);
    }
}
