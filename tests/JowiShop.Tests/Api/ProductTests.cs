using System.Net;
using System.Net.Http.Json;
using JowiShop.ApiHost.Features.Health;
using JowiShop.ApiHost.Features.Products;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Api;

public sealed class ProductTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task A_created_product_reads_back_with_its_variants()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        var ean = TestCatalog.Ean13();
        var code128 = TestCatalog.Code128();
        var created = await TestCatalog.CreateProductAsync(client, "Qo'y go'shti",
            TestCatalog.Variant(ean, 89000.50m, name: "1 kg"), TestCatalog.Variant(code128, 45000m, name: "500 g"));

        var read = await (await client.GetAsync($"/api/v1/products/{created.Id}")).ReadAsync<Product>();
        Assert.Equal("Qo'y go'shti", read.Name);
        Assert.Equal(2, read.Variants.Count);
        Assert.Equal([ean], read.Variants.Single(v => v.Name == "1 kg").Barcodes);
        Assert.Equal(89000.50m, read.Variants.Single(v => v.Name == "1 kg").Price);
    }

    [Fact]
    public async Task Invalid_catalog_input_is_400_naming_each_field()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        var response = await client.PostAsJsonAsync("/api/v1/products", new
        {
            name = "",
            variants = new object[]
            {
                new { name = "A", sku = "S 1", barcodes = new[] { "4780000000001" }, price = 10.123m },
                new { name = "B", sku = TestCatalog.Sku(), barcodes = new[] { new string('x', 49) }, price = -1m },
                new { name = "C", sku = TestCatalog.Sku(), barcodes = new[] { "96385074" , "03600029145X" }, price = 1m, cost = 0.001m },
            },
        });
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        var errors = problem.GetProperty("errors");
        foreach (var field in new[] { "name", "variants[0].sku", "variants[0].barcodes[0]", "variants[0].price",
                     "variants[1].barcodes[0]", "variants[1].price", "variants[2].cost" })
            Assert.True(errors.TryGetProperty(field, out _), $"no error for {field}: {errors}");
        // 96385074 is a valid EAN-8 and 03600029145X a valid CODE128: no error for them.
        Assert.False(errors.TryGetProperty("variants[2].barcodes[0]", out _), errors.ToString());
        Assert.False(errors.TryGetProperty("variants[2].barcodes[1]", out _), errors.ToString());
        Assert.Contains("check digit", errors.GetProperty("variants[0].barcodes[0]")[0].GetString());
    }

    [Fact]
    public async Task Duplicate_sku_or_barcode_in_a_tenant_is_409_naming_the_holder()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        var ean = TestCatalog.Ean13();
        var sku = TestCatalog.Sku();
        var first = await TestCatalog.CreateProductAsync(client, "First", TestCatalog.Variant(ean, sku: sku));
        var holder = first.Variants[0].Id.ToString();

        var sameSku = await client.PostAsJsonAsync("/api/v1/products", new { name = "Second", variants = new[] { TestCatalog.Variant(sku: sku) } });
        var p1 = await sameSku.AssertProblemAsync(HttpStatusCode.Conflict, "variant.sku_taken");
        Assert.Equal(holder, p1.GetProperty("conflictingVariantId").GetString());

        var sameBarcode = await client.PostAsJsonAsync("/api/v1/products", new { name = "Third", variants = new[] { TestCatalog.Variant(ean) } });
        var p2 = await sameBarcode.AssertProblemAsync(HttpStatusCode.Conflict, "variant.barcode_taken");
        Assert.Equal(holder, p2.GetProperty("conflictingVariantId").GetString());
        Assert.Contains(ean, p2.GetProperty("detail").GetString());

        // Nothing of the refused products was written.
        var list = await (await client.GetAsync("/api/v1/products")).ReadAsync<ListPage<Product>>();
        Assert.Equal(["First"], list.Items.Select(p => p.Name));

        // Another tenant may use the same SKU and barcode.
        var (other, _) = await api.Factory.RegisterAsync();
        await TestCatalog.CreateProductAsync(other, "Other tenant", TestCatalog.Variant(ean, sku: sku));
    }

    [Fact]
    public async Task A_scan_sees_every_write_immediately()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        var ean = TestCatalog.Ean13();
        var product = await TestCatalog.CreateProductAsync(client, "Non", TestCatalog.Variant(ean, 5000m));
        var variantId = product.Variants[0].Id;

        var scan = await (await client.GetAsync($"/api/v1/products/by-barcode/{ean}")).ReadAsync<ScanResponse>();
        Assert.Equal(variantId, scan.Id);
        Assert.Equal(5000m, scan.Price);
        Assert.Equal("Non", scan.ProductName);

        // Price change, then scan at once.
        (await client.PatchAsJsonAsync($"/api/v1/products/{product.Id}/variants/{variantId}", new { price = 5500m })).EnsureSuccessStatusCode();
        Assert.Equal(5500m, (await (await client.GetAsync($"/api/v1/products/by-barcode/{ean}")).ReadAsync<ScanResponse>()).Price);

        // Product rename shows in the scan.
        (await client.PatchAsJsonAsync($"/api/v1/products/{product.Id}", new { name = "Non (lepyoshka)" })).EnsureSuccessStatusCode();
        Assert.Equal("Non (lepyoshka)", (await (await client.GetAsync($"/api/v1/products/by-barcode/{ean}")).ReadAsync<ScanResponse>()).ProductName);

        // Move the barcode to another variant: the scan follows it.
        var other = await TestCatalog.CreateProductAsync(client, "Other");
        var otherVariant = other.Variants[0];
        (await client.PatchAsJsonAsync($"/api/v1/products/{product.Id}/variants/{variantId}", new { barcodes = new[] { TestCatalog.Ean13() } }))
            .EnsureSuccessStatusCode();
        await (await client.GetAsync($"/api/v1/products/by-barcode/{ean}")).AssertProblemAsync(HttpStatusCode.NotFound, "barcode.not_found");
        (await client.PatchAsJsonAsync($"/api/v1/products/{other.Id}/variants/{otherVariant.Id}",
            new { barcodes = otherVariant.Barcodes.Append(ean).ToArray() })).EnsureSuccessStatusCode();
        Assert.Equal(otherVariant.Id, (await (await client.GetAsync($"/api/v1/products/by-barcode/{ean}")).ReadAsync<ScanResponse>()).Id);

        // Delete, scan: 404.
        (await client.DeleteAsync($"/api/v1/products/{other.Id}")).EnsureSuccessStatusCode();
        await (await client.GetAsync($"/api/v1/products/by-barcode/{ean}")).AssertProblemAsync(HttpStatusCode.NotFound, "barcode.not_found");
    }

    [Fact]
    public async Task Unknown_and_invalid_barcodes()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        var unknown = TestCatalog.Ean13();
        await (await client.GetAsync($"/api/v1/products/by-barcode/{unknown}")).AssertProblemAsync(HttpStatusCode.NotFound, "barcode.not_found");
        // A barcode remembered as unknown becomes known the moment a product takes it.
        await TestCatalog.CreateProductAsync(client, "Late", TestCatalog.Variant(unknown));
        Assert.Equal("Late", (await (await client.GetAsync($"/api/v1/products/by-barcode/{unknown}")).ReadAsync<ScanResponse>()).ProductName);

        await (await client.GetAsync("/api/v1/products/by-barcode/4780000000001")).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
    }

    [Fact]
    public async Task Another_tenants_products_and_barcodes_are_404()
    {
        var (alice, _) = await api.Factory.RegisterAsync();
        var (bob, _) = await api.Factory.RegisterAsync();
        var ean = TestCatalog.Ean13();
        var product = await TestCatalog.CreateProductAsync(alice, "Alice's", TestCatalog.Variant(ean));

        await (await bob.GetAsync($"/api/v1/products/{product.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "product.not_found");
        await (await bob.GetAsync($"/api/v1/products/by-barcode/{ean}")).AssertProblemAsync(HttpStatusCode.NotFound, "barcode.not_found");
        await (await bob.PatchAsJsonAsync($"/api/v1/products/{product.Id}", new { name = "Bob's now" })).AssertProblemAsync(HttpStatusCode.NotFound, "product.not_found");
        await (await bob.DeleteAsync($"/api/v1/products/{product.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "product.not_found");
        Assert.Equal("Alice's", (await (await alice.GetAsync($"/api/v1/products/{product.Id}")).ReadAsync<Product>()).Name);
    }

    [Fact]
    public async Task Cashiers_scan_and_read_but_do_not_write_the_catalog()
    {
        var (owner, registration) = await api.Factory.RegisterAsync();
        var ean = TestCatalog.Ean13();
        var product = await TestCatalog.CreateProductAsync(owner, "Milk", TestCatalog.Variant(ean));
        var cashier = await TestUsers.AddAndLoginAsync(api.Factory, registration.TenantId, "cashier");

        (await cashier.GetAsync($"/api/v1/products/by-barcode/{ean}")).EnsureSuccessStatusCode();
        (await cashier.GetAsync("/api/v1/products")).EnsureSuccessStatusCode();
        await (await cashier.PostAsJsonAsync("/api/v1/products", new { name = "X", variants = new[] { TestCatalog.Variant() } }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        await (await cashier.PatchAsJsonAsync($"/api/v1/products/{product.Id}/variants/{product.Variants[0].Id}", new { price = 1m }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");

        var manager = await TestUsers.AddAndLoginAsync(api.Factory, registration.TenantId, "manager");
        (await manager.PatchAsJsonAsync($"/api/v1/products/{product.Id}/variants/{product.Variants[0].Id}", new { price = 1m })).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Lists_page_filter_and_drop_soft_deleted_products()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        for (var i = 0; i < 23; i++)
            await TestCatalog.CreateProductAsync(client, $"Item {i:D2}");
        var milk = await TestCatalog.CreateProductAsync(client, "Молоко 3.2%");
        var inactive = await TestCatalog.CreateProductAsync(client, "Item zz");
        (await client.PatchAsJsonAsync($"/api/v1/products/{inactive.Id}", new { active = false })).EnsureSuccessStatusCode();

        var seen = new List<Guid>();
        for (var page = 1; page <= 3; page++)
        {
            var result = await (await client.GetAsync($"/api/v1/products?page={page}&limit=10")).ReadAsync<ListPage<Product>>();
            Assert.Equal(25, result.Total);
            seen.AddRange(result.Items.Select(p => p.Id));
        }
        Assert.Equal(25, seen.Distinct().Count());
        var beyond = await (await client.GetAsync("/api/v1/products?page=9&limit=10")).ReadAsync<ListPage<Product>>();
        Assert.Empty(beyond.Items);
        Assert.Equal(25, beyond.Total);

        var byName = await (await client.GetAsync("/api/v1/products?query=" + Uri.EscapeDataString("МОЛОКО"))).ReadAsync<ListPage<Product>>();
        Assert.Equal([milk.Id], byName.Items.Select(p => p.Id));
        var bySku = await (await client.GetAsync($"/api/v1/products?query={milk.Variants[0].Sku}")).ReadAsync<ListPage<Product>>();
        Assert.Equal([milk.Id], bySku.Items.Select(p => p.Id));
        var byBarcode = await (await client.GetAsync($"/api/v1/products?query={milk.Variants[0].Barcodes[0]}")).ReadAsync<ListPage<Product>>();
        Assert.Equal([milk.Id], byBarcode.Items.Select(p => p.Id));
        var inactiveOnly = await (await client.GetAsync("/api/v1/products?active=false")).ReadAsync<ListPage<Product>>();
        Assert.Equal([inactive.Id], inactiveOnly.Items.Select(p => p.Id));

        (await client.DeleteAsync($"/api/v1/products/{milk.Id}")).EnsureSuccessStatusCode();
        var afterDelete = await (await client.GetAsync("/api/v1/products?limit=100")).ReadAsync<ListPage<Product>>();
        Assert.Equal(24, afterDelete.Total);
        Assert.DoesNotContain(afterDelete.Items, p => p.Id == milk.Id);
        await (await client.GetAsync($"/api/v1/products/{milk.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "product.not_found");
        await (await client.DeleteAsync($"/api/v1/products/{milk.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "product.not_found");

        // The rows stay for old receipts.
        await using var db = NpgsqlDataSource.Create(api.Factory.PostgresConnectionString);
        await using var cmd = db.CreateCommand("SELECT count(*) FROM product_variants WHERE product_id = $1 AND deleted_at IS NOT NULL");
        cmd.Parameters.AddWithValue(milk.Id);
        Assert.Equal(1L, (long)(await cmd.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task A_scan_with_a_store_reports_its_stock_level()
    {
        var (client, registration) = await api.Factory.RegisterAsync();
        var ean = TestCatalog.Ean13();
        await TestCatalog.CreateProductAsync(client, "Stocked", TestCatalog.Variant(ean));
        var scan = await (await client.GetAsync($"/api/v1/products/by-barcode/{ean}?storeId={registration.StoreId}")).ReadAsync<ScanResponse>();
        Assert.Equal(new StockLevel(registration.StoreId, 0m), scan.Stock);

        var (other, otherRegistration) = await api.Factory.RegisterAsync();
        await (await client.GetAsync($"/api/v1/products/by-barcode/{ean}?storeId={otherRegistration.StoreId}"))
            .AssertProblemAsync(HttpStatusCode.NotFound, "store.not_found");
        _ = other;
    }
}

public sealed class CacheHealthTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Cache_health_counts_misses_hits_and_active_product_grains()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        var ean = TestCatalog.Ean13();
        var product = await TestCatalog.CreateProductAsync(client, "Cached", TestCatalog.Variant(ean));
        // An owner is an operator in Development (appsettings.Development.json): the figures are the deployment's.
        var before = await (await client.GetAsync("/api/v1/health/cache")).ReadAsync<CacheStateResponse>();

        var unknown = TestCatalog.Ean13();
        await client.GetAsync($"/api/v1/products/by-barcode/{unknown}"); // miss: read from PostgreSQL
        await client.GetAsync($"/api/v1/products/by-barcode/{unknown}"); // known unknown: no query
        (await client.GetAsync($"/api/v1/products/by-barcode/{ean}")).EnsureSuccessStatusCode(); // mapped at creation: hit

        var after = await (await client.GetAsync("/api/v1/health/cache")).ReadAsync<CacheStateResponse>();
        Assert.True(after.Misses >= before.Misses + 1, $"misses {before.Misses} -> {after.Misses}");
        Assert.True(after.UnknownHits >= before.UnknownHits + 1, $"unknown hits {before.UnknownHits} -> {after.UnknownHits}");
        Assert.True(after.Hits >= before.Hits + 1, $"hits {before.Hits} -> {after.Hits}");
        Assert.True(after.ActiveProductGrains >= 1, $"active product grains: {after.ActiveProductGrains}");
        _ = product;
    }
}
