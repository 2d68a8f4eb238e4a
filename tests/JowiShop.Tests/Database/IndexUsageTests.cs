using JowiShop.ApiHost.Features.Products;
using JowiShop.DemoData;
using JowiShop.Grains.Catalog;
using JowiShop.Grains.Persistence;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using NpgsqlTypes;
using Xunit;

namespace JowiShop.Tests.Database;

/// <summary>The 100,000-variant, 50,000-customer data set, seeded once for the EXPLAIN tests.</summary>
public sealed class LargeDataSet : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        ConnectionString = await LocalServices.CreateDatabaseAsync("large");
        DatabaseMigrator.Apply(ConnectionString);
        await DemoDataSet.SeedAsync(ConnectionString, new DemoDataOptions { Variants = 100_000, Products = 66_667, Customers = 50_000, SecondTenant = false });
        await using var db = NpgsqlDataSource.Create(ConnectionString);
        await using var analyze = db.CreateCommand("ANALYZE");
        await analyze.ExecuteNonQueryAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>The application's own lookup and list queries, EXPLAINed on the large data set, use the tenant-scoped partial indexes.</summary>
public sealed class IndexUsageTests(LargeDataSet data) : IClassFixture<LargeDataSet>
{
    private async Task<string> PlanAsync(string sql, params object?[] parameters)
    {
        await using var db = NpgsqlDataSource.Create(data.ConnectionString);
        await using var cmd = db.CreateCommand("EXPLAIN " + sql);
        foreach (var p in parameters)
            cmd.Parameters.Add(p as NpgsqlParameter ?? new NpgsqlParameter { Value = p });
        var lines = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            lines.Add(reader.GetString(0));
        return string.Join("\n", lines);
    }

    private async Task<T> FirstAsync<T>(string sql)
    {
        await using var db = NpgsqlDataSource.Create(data.ConnectionString);
        await using var cmd = db.CreateCommand(sql);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static NpgsqlParameter Null(NpgsqlDbType type) => new() { Value = DBNull.Value, NpgsqlDbType = type };

    private static void AssertUses(string plan, params string[] indexes) =>
        Assert.True(indexes.Any(i => plan.Contains($"using {i} ", StringComparison.Ordinal) || plan.Contains($"on {i}", StringComparison.Ordinal) && plan.Contains("Index", StringComparison.Ordinal)),
            $"expected one of {string.Join(", ", indexes)}:\n{plan}");

    [Fact]
    public async Task Barcode_scan_uses_the_tenant_barcode_index()
    {
        var barcode = await FirstAsync<string>("SELECT barcode FROM variant_barcodes OFFSET 54321 LIMIT 1");
        var plan = await PlanAsync(BarcodeDirectoryGrain.LookupSql, DemoTenant.TenantId, barcode);
        AssertUses(plan, "ux_barcodes_tenant_barcode");
        Assert.DoesNotContain("Seq Scan", plan);
    }

    [Fact]
    public async Task Sku_lookup_uses_the_tenant_sku_index()
    {
        var plan = await PlanAsync(ProductGrain.SkuHolderSql, DemoTenant.TenantId, new[] { "SKU-054321" });
        AssertUses(plan, "ux_variants_tenant_sku");
    }

    [Fact]
    public async Task List_queries_walk_the_tenant_list_indexes()
    {
        var products = await PlanAsync(ProductQueries.ListSql, DemoTenant.TenantId, Null(NpgsqlDbType.Uuid), Null(NpgsqlDbType.Boolean),
            Null(NpgsqlDbType.Text), 20, 0, Null(NpgsqlDbType.Text));
        AssertUses(products, "ix_products_tenant_list");
        Assert.DoesNotContain("Seq Scan on products", products);
    }

    [Fact]
    public async Task Name_search_uses_the_trigram_index()
    {
        var plan = await PlanAsync(
            "SELECT id FROM products WHERE tenant_id = $1 AND deleted_at IS NULL AND search_key(name) LIKE '%' || $2 || '%' LIMIT 10",
            DemoTenant.TenantId, "лепёшк");
        AssertUses(plan, "ix_products_search");
    }
}
