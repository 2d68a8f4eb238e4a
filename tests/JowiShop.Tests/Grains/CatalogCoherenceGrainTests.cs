using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace JowiShop.Tests.Grains;

public sealed class CatalogCoherenceGrainTests
{
    [Fact]
    public async Task A_write_through_one_silo_is_seen_by_the_next_read_through_the_other()
    {
        var postgres = await GrainClusters.CreateMigratedDatabaseAsync("catalog");
        var tenantId = Guid.NewGuid();
        await using (var db = Npgsql.NpgsqlDataSource.Create(postgres))
        await using (var cmd = db.CreateCommand("INSERT INTO tenants (id, name) VALUES ($1, 'T')"))
        {
            cmd.Parameters.AddWithValue(tenantId);
            await cmd.ExecuteNonQueryAsync();
        }

        var cluster = await GrainClusters.StartAsync(postgres, "catalog-test", silos: 2);
        try
        {
            var silos = cluster.GetActiveSilos().ToArray();
            Assert.Equal(2, silos.Length);
            var viaFirst = cluster.GetSiloServiceProvider(silos[0].SiloAddress).GetRequiredService<IGrainFactory>();
            var viaSecond = cluster.GetSiloServiceProvider(silos[1].SiloAddress).GetRequiredService<IGrainFactory>();

            var productId = Guid.NewGuid();
            var variantId = Guid.NewGuid();
            var ean = TestCatalog.Ean13();
            var created = await viaFirst.GetGrain<IProductGrain>(productId, tenantId.ToString()).CreateAsync(new ProductDraft(
                "Sut", null, null, true, [new VariantDraft(variantId, "1 l", TestCatalog.Sku(), [ean], 12000m, 9000m, VariantUnit.L, true)]));
            Assert.Equal(CatalogOutcome.Ok, created.Outcome);

            async Task<ScannedVariant?> ScanAsync(IGrainFactory grains, string code)
            {
                var target = await grains.GetGrain<IBarcodeDirectoryGrain>(IBarcodeDirectoryGrain.Key(tenantId, code)).ResolveAsync(code);
                return target is { } t ? await grains.GetGrain<IProductGrain>(t.ProductId, tenantId.ToString()).GetVariantAsync(t.VariantId) : null;
            }

            Assert.Equal(12000m, (await ScanAsync(viaSecond, ean))!.Variant.Price);

            var update = await viaFirst.GetGrain<IProductGrain>(productId, tenantId.ToString())
                .UpdateVariantAsync(variantId, new VariantPatch(Price: 12500m));
            Assert.Equal(CatalogOutcome.Ok, update.Outcome);
            Assert.Equal(12500m, (await ScanAsync(viaSecond, ean))!.Variant.Price);

            // Reactivation reloads the committed state.
            await cluster.DeactivateAsync(((GrainReference)viaFirst.GetGrain<IProductGrain>(productId, tenantId.ToString())).GrainId);
            Assert.Equal(12500m, (await ScanAsync(viaFirst, ean))!.Variant.Price);

            var newEan = TestCatalog.Ean13();
            await viaSecond.GetGrain<IProductGrain>(productId, tenantId.ToString()).UpdateVariantAsync(variantId, new VariantPatch(Barcodes: [newEan]));
            Assert.Null(await ScanAsync(viaFirst, ean));
            Assert.Equal(variantId, (await ScanAsync(viaFirst, newEan))!.Variant.Id);

            await viaFirst.GetGrain<IProductGrain>(productId, tenantId.ToString()).DeleteAsync();
            Assert.Null(await ScanAsync(viaSecond, newEan));
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
