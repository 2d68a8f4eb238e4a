using System.Net;
using System.Net.Http.Json;
using JowiShop.ApiHost.Features.Search;
using JowiShop.Grains.Abstractions.Search;
using JowiShop.Grains.Abstractions;
using JowiShop.Tests.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Api;

public sealed class SearchTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static async Task<SearchResults> SearchAsync(HttpClient client, string query) =>
        await (await client.GetAsync($"/api/v1/search?query={Uri.EscapeDataString(query)}&limit=10")).ReadAsync<SearchResults>();

    [Fact]
    public async Task Finds_products_customers_and_stores_in_every_script_ranking_exact_and_prefix_first()
    {
        var (client, registration) = await api.Factory.RegisterAsync();
        var milk = await TestCatalog.CreateProductAsync(client, "Молоко 3.2%");
        var sut = await TestCatalog.CreateProductAsync(client, "Sut");
        var sutli = await TestCatalog.CreateProductAsync(client, "Sutli bo'tqa");
        var kefir = await TestCatalog.CreateProductAsync(client, "Kefir sutli");
        var goshti = await TestCatalog.CreateProductAsync(client, "Qoʻy goʻshti"); // typed with U+02BB
        var customer = await (await client.PostAsJsonAsync("/api/v1/customers", new { name = "O'tkir Sutov", phone = "+998 93 123 45 67", email = "otkir@mail.uz" }))
            .ReadAsync<JowiShop.Grains.Abstractions.Customers.Customer>(HttpStatusCode.Created);
        var store = await (await client.PostAsJsonAsync("/api/v1/stores", new { name = "Sutchi filiali" })).ReadAsync<Store>(HttpStatusCode.Created);

        var results = await SearchAsync(client, "SUT");
        Assert.Equal([sut.Id, sutli.Id, kefir.Id], results.Products.Select(p => p.Id)); // exact, prefix, substring
        Assert.Equal([customer.Id], results.Customers.Select(c => c.Id));
        Assert.Equal([store.Id], results.Stores.Select(s => s.Id));

        Assert.Equal([milk.Id], (await SearchAsync(client, "молоко")).Products.Select(p => p.Id));
        Assert.Equal([goshti.Id], (await SearchAsync(client, "go'sht")).Products.Select(p => p.Id));
        Assert.Equal([customer.Id], (await SearchAsync(client, "1234567")).Customers.Select(c => c.Id));
        Assert.Equal([customer.Id], (await SearchAsync(client, "otkir@")).Customers.Select(c => c.Id));
        var bySku = await SearchAsync(client, sutli.Variants[0].Sku[..^2]);
        Assert.Contains(bySku.Products, p => p.Id == sutli.Id && p.MatchedBy == "sku");
        var byBarcode = await SearchAsync(client, kefir.Variants[0].Barcodes[0]);
        Assert.Equal([kefir.Id], byBarcode.Products.Select(p => p.Id));
        _ = registration;
    }

    [Fact]
    public async Task Reflects_writes_at_once_and_stays_within_the_tenant()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        var (other, _) = await api.Factory.RegisterAsync();
        var product = await TestCatalog.CreateProductAsync(client, "Anor sharbati");
        Assert.Single((await SearchAsync(client, "anor")).Products);
        Assert.Empty((await SearchAsync(other, "anor")).Products);

        (await client.PatchAsJsonAsync($"/api/v1/products/{product.Id}", new { name = "Olma sharbati" })).EnsureSuccessStatusCode();
        Assert.Empty((await SearchAsync(client, "anor")).Products);
        (await client.DeleteAsync($"/api/v1/products/{product.Id}")).EnsureSuccessStatusCode();
        Assert.Empty((await SearchAsync(client, "olma")).Products);

        // Stores and customers: created, renamed, deleted, each seen by the next search.
        var store = await (await client.PostAsJsonAsync("/api/v1/stores", new { name = "Anor bozori" })).ReadAsync<Store>(HttpStatusCode.Created);
        var customer = await (await client.PostAsJsonAsync("/api/v1/customers", new { name = "Anora Karimova" }))
            .ReadAsync<JowiShop.Grains.Abstractions.Customers.Customer>(HttpStatusCode.Created);
        var found = await SearchAsync(client, "anor");
        Assert.Equal([store.Id], found.Stores.Select(s => s.Id));
        Assert.Equal([customer.Id], found.Customers.Select(c => c.Id));
        Assert.Empty((await SearchAsync(other, "anor")).Stores);
        (await client.PatchAsJsonAsync($"/api/v1/stores/{store.Id}", new { name = "Olma bozori" })).EnsureSuccessStatusCode();
        (await client.PatchAsJsonAsync($"/api/v1/customers/{customer.Id}", new { name = "Olmaxon Karimova" })).EnsureSuccessStatusCode();
        found = await SearchAsync(client, "anor");
        Assert.Empty(found.Stores);
        Assert.Empty(found.Customers);
        (await client.DeleteAsync($"/api/v1/stores/{store.Id}")).EnsureSuccessStatusCode();
        (await client.DeleteAsync($"/api/v1/customers/{customer.Id}")).EnsureSuccessStatusCode();
        found = await SearchAsync(client, "olma");
        Assert.Empty(found.Stores);
        Assert.Empty(found.Customers);
    }

    [Fact]
    public async Task A_query_shorter_than_two_characters_is_400()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        await (await client.GetAsync("/api/v1/search?query=a")).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        await (await client.GetAsync("/api/v1/search")).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        await (await client.GetAsync("/api/v1/search?query=ab&limit=0")).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        // LIKE wildcards are literal.
        Assert.Empty((await SearchAsync(client, "%%")).Products);
    }
}
