using System.Net;
using JowiShop.ApiHost.Features.Products;
using JowiShop.DemoData;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Persistence;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>An ApiHost over a database holding the demo data set.</summary>
public sealed class DemoApiFixture : IAsyncLifetime
{
    public ApiFactory Factory { get; private set; } = null!;
    public DemoDataSummary Summary { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var servers = await LocalServices.GetAsync();
        var postgres = await LocalServices.CreateDatabaseAsync("demo");
        DatabaseMigrator.Apply(postgres);
        Summary = await DemoDataSet.SeedAsync(postgres, new DemoDataOptions());
        Factory = new ApiFactory(postgres, servers.RedisConnectionString);
        _ = Factory.Server;
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

public sealed class DemoDataTests(DemoApiFixture demo) : IClassFixture<DemoApiFixture>
{
    [Fact]
    public void The_default_set_is_the_seeds_benchmark_set()
    {
        var s = demo.Summary;
        Assert.True(s.Created);
        Assert.Equal((2, 2, 5, 20, 15, 300), (s.Stores, s.Terminals, s.Users, s.Customers, s.Categories, s.Products));
        Assert.InRange(s.Variants, 440, 460);
        Assert.Equal(s.Variants, s.Barcodes);
        Assert.Equal(s.Stores * s.Variants, s.StockLevels);
        Assert.True(s.StockBatches >= s.StockLevels);
    }

    [Fact]
    public async Task Seeding_again_changes_nothing()
    {
        var again = await DemoDataSet.SeedAsync(demo.Factory.PostgresConnectionString, new DemoDataOptions());
        Assert.False(again.Created);
        Assert.Equal(demo.Summary with { Created = false, Elapsed = again.Elapsed }, again);
    }

    [Fact]
    public async Task The_demo_login_lists_the_two_demo_stores_and_the_second_tenant_cannot_see_them()
    {
        var admin = await demo.Factory.LoginAsync(DemoTenant.OwnerEmail, DemoTenant.Password);
        var stores = await (await admin.GetAsync("/api/v1/stores?page=1&limit=20")).ReadAsync<ListPage<Store>>();
        Assert.Equal(["Central", "Chilanzar"], stores.Items.Select(s => s.Name));
        var byPhone = await demo.Factory.LoginAsync(DemoTenant.OwnerPhone, DemoTenant.Password);
        (await byPhone.GetAsync($"/api/v1/stores/{DemoTenant.CentralStoreId}")).EnsureSuccessStatusCode();

        var second = await demo.Factory.LoginAsync(DemoTenant.SecondOwnerEmail, DemoTenant.Password);
        await (await second.GetAsync($"/api/v1/stores/{DemoTenant.CentralStoreId}")).AssertProblemAsync(HttpStatusCode.NotFound, "store.not_found");
    }

    [Fact]
    public async Task Every_seeded_barcode_scans_to_its_variant_with_valid_check_digits()
    {
        var cashier = await demo.Factory.LoginAsync("cashier4@jowi.shop", DemoTenant.Password); // employed at Central
        await using var db = NpgsqlDataSource.Create(demo.Factory.PostgresConnectionString);
        await using var cmd = db.CreateCommand("SELECT barcode, variant_id, symbology FROM variant_barcodes WHERE tenant_id = $1");
        cmd.Parameters.AddWithValue(DemoTenant.TenantId);
        var barcodes = new List<(string Code, Guid Variant, string Symbology)>();
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                barcodes.Add((reader.GetString(0), reader.GetGuid(1), reader.GetString(2)));

        Assert.InRange(barcodes.Count(b => b.Symbology == "ean13") / (double)barcodes.Count, 0.7, 0.9);
        foreach (var (code, variant, symbology) in barcodes)
        {
            Assert.True(Barcodes.TryClassify(code, out var kind, out var error), $"{code}: {error}");
            Assert.Equal(symbology, kind.ToSql());
            var scan = await (await cashier.GetAsync($"/api/v1/products/by-barcode/{Uri.EscapeDataString(code)}?storeId={DemoTenant.CentralStoreId}"))
                .ReadAsync<ScanResponse>();
            Assert.Equal(variant, scan.Id);
            Assert.True(scan.Stock!.Quantity > 0);
        }
    }

    [Fact]
    public async Task Tenants_share_a_barcode_without_seeing_each_others_variant()
    {
        await using var db = NpgsqlDataSource.Create(demo.Factory.PostgresConnectionString);
        await using var cmd = db.CreateCommand(
            "SELECT a.barcode, a.variant_id, b.variant_id FROM variant_barcodes a JOIN variant_barcodes b ON a.barcode = b.barcode WHERE a.tenant_id = $1 AND b.tenant_id = $2");
        cmd.Parameters.AddWithValue(DemoTenant.TenantId);
        cmd.Parameters.AddWithValue(DemoTenant.SecondTenantId);
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var (code, demoVariant, secondVariant) = (reader.GetString(0), reader.GetGuid(1), reader.GetGuid(2));

        var admin = await demo.Factory.LoginAsync(DemoTenant.OwnerEmail, DemoTenant.Password);
        var second = await demo.Factory.LoginAsync(DemoTenant.SecondOwnerEmail, DemoTenant.Password);
        Assert.Equal(demoVariant, (await (await admin.GetAsync($"/api/v1/products/by-barcode/{code}")).ReadAsync<ScanResponse>()).Id);
        Assert.Equal(secondVariant, (await (await second.GetAsync($"/api/v1/products/by-barcode/{code}")).ReadAsync<ScanResponse>()).Id);
    }
}
