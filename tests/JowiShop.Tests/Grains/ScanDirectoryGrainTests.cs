using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Catalog;
using JowiShop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.TestingHost;
using Xunit;

namespace JowiShop.Tests.Grains;

/// <summary>
/// Scans answered by the barcode directory shards themselves: every committed catalog change
/// through one silo is seen by the very next scan through the other; a reactivated shard loads
/// the same answers in bulk; and no scan activates a product grain.
/// </summary>
public sealed class ScanDirectoryGrainTests : IAsyncLifetime
{
    private string _postgres = "";
    private InProcessTestCluster _cluster = null!;
    private IGrainFactory _viaFirst = null!;
    private IGrainFactory _viaSecond = null!;
    private readonly Guid _tenantId = Guid.NewGuid();

    public async Task InitializeAsync()
    {
        _postgres = await GrainClusters.CreateMigratedDatabaseAsync("scan");
        await using (var db = NpgsqlDataSource.Create(_postgres))
        await using (var cmd = db.CreateCommand("INSERT INTO tenants (id, name) VALUES ($1, 'T')"))
        {
            cmd.Parameters.AddWithValue(_tenantId);
            await cmd.ExecuteNonQueryAsync();
        }
        _cluster = await GrainClusters.StartAsync(_postgres, "scan-test", silos: 2);
        var silos = _cluster.GetActiveSilos().ToArray();
        _viaFirst = _cluster.GetSiloServiceProvider(silos[0].SiloAddress).GetRequiredService<IGrainFactory>();
        _viaSecond = _cluster.GetSiloServiceProvider(silos[1].SiloAddress).GetRequiredService<IGrainFactory>();
    }

    public async Task DisposeAsync()
    {
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
    }

    private IProductGrain Product(IGrainFactory grains, Guid id) => grains.GetGrain<IProductGrain>(id, _tenantId.ToString());

    private Task<ScannedVariant?> ScanAsync(IGrainFactory grains, string code) =>
        grains.GetGrain<IBarcodeDirectoryGrain>(IBarcodeDirectoryGrain.Key(_tenantId, code)).ScanAsync(code);

    private long ActiveProductGrains() => _cluster.GetActiveSilos()
        .Sum(s => _cluster.GetSiloServiceProvider(s.SiloAddress).GetRequiredService<CatalogCacheCounters>().ActiveProductGrains);

    private async Task DeactivateAllShardsAsync()
    {
        for (var shard = 0; shard < IBarcodeDirectoryGrain.Shards; shard++)
            await _cluster.DeactivateAsync(((GrainReference)_viaFirst.GetGrain<IBarcodeDirectoryGrain>($"{_tenantId:N}/{shard}")).GrainId);
    }

    [Fact]
    public async Task Every_committed_change_through_one_silo_is_seen_by_the_next_scan_through_the_other()
    {
        var (productId, variantId, secondVariantId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var (ean, code, second) = (TestCatalog.Ean13(), TestCatalog.Code128(), TestCatalog.Ean13());
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaFirst, productId).CreateAsync(new ProductDraft("Sut", null, null, true,
        [
            new VariantDraft(variantId, "1 l", TestCatalog.Sku(), [ean, code], 12000m, 9000m, VariantUnit.L, true),
            new VariantDraft(secondVariantId, "0.5 l", TestCatalog.Sku(), [second], 7000m, null, VariantUnit.L, true),
        ]))).Outcome);
        var scanned = (await ScanAsync(_viaSecond, code))!;
        Assert.Equal((variantId, productId, "Sut", 12000m), (scanned.Variant.Id, scanned.ProductId, scanned.ProductName, scanned.Variant.Price));
        Assert.Equal([ean, code], scanned.Variant.Barcodes);

        // Price, then name and SKU of the variant; then the product's name and active flag (all its variants' answers).
        await Product(_viaFirst, productId).UpdateVariantAsync(variantId, new VariantPatch(Price: 12500m));
        Assert.Equal(12500m, (await ScanAsync(_viaSecond, ean))!.Variant.Price);
        Assert.Equal(12500m, (await ScanAsync(_viaSecond, code))!.Variant.Price);
        await Product(_viaSecond, productId).UpdateVariantAsync(variantId, new VariantPatch(Name: "1 litre", Active: false));
        Assert.Equal(("1 litre", false), ((await ScanAsync(_viaFirst, ean))!.Variant.Name, (await ScanAsync(_viaFirst, ean))!.Variant.Active));
        await Product(_viaFirst, productId).UpdateAsync(new ProductPatch(Name: "Sut 3.2%", Active: false));
        Assert.Equal(("Sut 3.2%", false), ((await ScanAsync(_viaSecond, second))!.ProductName, (await ScanAsync(_viaSecond, second))!.ProductActive));

        // A barcode moved to another product: gone from the first at once, then found on the second.
        var (otherId, otherVariantId) = (Guid.NewGuid(), Guid.NewGuid());
        await Product(_viaSecond, productId).UpdateVariantAsync(variantId, new VariantPatch(Barcodes: [code]));
        Assert.Null(await ScanAsync(_viaFirst, ean));
        Assert.Equal([code], (await ScanAsync(_viaFirst, code))!.Variant.Barcodes);
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaFirst, otherId).CreateAsync(new ProductDraft("Kefir", null, null, true,
            [new VariantDraft(otherVariantId, "1 l", TestCatalog.Sku(), [ean], 9900m, null, VariantUnit.L, true)]))).Outcome);
        Assert.Equal((otherVariantId, 9900m), ((await ScanAsync(_viaSecond, ean))!.Variant.Id, (await ScanAsync(_viaSecond, ean))!.Variant.Price));

        // A variant deleted, then the whole product.
        await Product(_viaSecond, productId).DeleteVariantAsync(secondVariantId);
        Assert.Null(await ScanAsync(_viaFirst, second));
        Assert.NotNull(await ScanAsync(_viaFirst, code));
        await Product(_viaFirst, productId).DeleteAsync();
        Assert.Null(await ScanAsync(_viaSecond, code));
        Assert.Equal(otherVariantId, (await ScanAsync(_viaSecond, ean))!.Variant.Id);
    }

    [Fact]
    public async Task A_reactivated_shard_loads_the_same_answers_and_no_scan_activates_a_product_grain()
    {
        var products = new List<(Guid Product, string[] Barcodes)>();
        for (var i = 0; i < 40; i++)
        {
            var id = Guid.NewGuid();
            var barcodes = new[] { TestCatalog.Ean13(), TestCatalog.Code128() };
            Assert.Equal(CatalogOutcome.Ok, (await Product(_viaFirst, id).CreateAsync(new ProductDraft($"Mahsulot {i}", null, null, i % 3 > 0,
                [new VariantDraft(Guid.NewGuid(), "dona", TestCatalog.Sku(), barcodes, 1000m + i, i % 2 == 0 ? 800m : null, VariantUnit.Piece, true)]))).Outcome);
            products.Add((id, barcodes));
        }
        var answers = new Dictionary<string, ScannedVariant>();
        foreach (var code in products.SelectMany(p => p.Barcodes))
            answers[code] = (await ScanAsync(_viaSecond, code))!;

        foreach (var (id, _) in products)
            await _cluster.DeactivateAsync(((GrainReference)Product(_viaFirst, id)).GrainId);
        await DeactivateAllShardsAsync();
        await WaitForAsync(() => ActiveProductGrains() == 0);

        foreach (var code in products.SelectMany(p => p.Barcodes))
            Assert.True(Microseconds(answers[code]).SameAs((await ScanAsync(_viaFirst, code))!), code);
        Assert.Null(await ScanAsync(_viaFirst, TestCatalog.Ean13()));
        Assert.Equal(0, ActiveProductGrains());
    }

    [Fact]
    public async Task The_shard_rule_in_SQL_is_the_shard_rule_in_code()
    {
        var codes = Enumerable.Range(0, 300).Select(i => i % 2 == 0 ? TestCatalog.Ean13() : TestCatalog.Code128()).Append("Ünïcödé-çödé").ToArray();
        await using var db = NpgsqlDataSource.Create(_postgres);
        await using var cmd = db.CreateCommand("SELECT get_byte(sha256(convert_to(c, 'UTF8')), 0) % $2 FROM unnest($1::text[]) WITH ORDINALITY AS t(c, n) ORDER BY n");
        cmd.Parameters.AddWithValue(codes);
        cmd.Parameters.AddWithValue(IBarcodeDirectoryGrain.Shards);
        var inSql = new List<int>();
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                inSql.Add(reader.GetInt32(0));
        Assert.Equal(codes.Select(c => Barcodes.Shard(c, IBarcodeDirectoryGrain.Shards)), inSql);
        Assert.Equal(IBarcodeDirectoryGrain.Shards, inSql.Distinct().Count());
    }

    // PostgreSQL keeps microseconds; a grain's memory has the clock's 100 ns ticks until it reloads.
    private static ScannedVariant Microseconds(ScannedVariant s) => s with
    {
        Variant = s.Variant with { UpdatedAt = new DateTimeOffset(s.Variant.UpdatedAt.Ticks / 10 * 10, s.Variant.UpdatedAt.Offset) },
    };

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(50);
        }
    }
}
