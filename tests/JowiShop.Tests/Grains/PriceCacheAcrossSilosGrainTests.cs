using System.Security.Cryptography;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.TestingHost;
using Xunit;

namespace JowiShop.Tests.Grains;

/// <summary>
/// The store grain's price cache is exact: every catalog change answered through one silo is charged
/// (or refused) by the very next sale rung up through the other, including after the tenant grain,
/// which keeps the catalog cursor, was reactivated (a new epoch).
/// </summary>
public sealed class PriceCacheAcrossSilosGrainTests : IAsyncLifetime
{
    private string _postgres = "";
    private InProcessTestCluster _cluster = null!;
    private IGrainFactory _viaFirst = null!;
    private IGrainFactory _viaSecond = null!;
    private readonly Guid _tenantId = Guid.NewGuid(), _storeId = Guid.NewGuid(), _terminalId = Guid.NewGuid();

    public async Task InitializeAsync()
    {
        _postgres = await GrainClusters.CreateMigratedDatabaseAsync("prices");
        await using (var db = NpgsqlDataSource.Create(_postgres))
        await using (var batch = db.CreateBatch())
        {
            void Add(string sql) => batch.BatchCommands.Add(new NpgsqlBatchCommand(sql));
            Add($"INSERT INTO tenants (id, name) VALUES ('{_tenantId}', 'T')");
            Add($"INSERT INTO stores (id, tenant_id, name) VALUES ('{_storeId}', '{_tenantId}', 'S')");
            Add($"INSERT INTO terminals (id, tenant_id, store_id, name) VALUES ('{_terminalId}', '{_tenantId}', '{_storeId}', 'Till')");
            await batch.ExecuteNonQueryAsync();
        }
        _cluster = await GrainClusters.StartAsync(_postgres, "prices-test", silos: 2);
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

    private Task<SaleResult> RingUpAsync(IGrainFactory grains, Guid variantId, decimal quantity, decimal paid) =>
        grains.GetGrain<IStoreGrain>(_storeId, _tenantId.ToString()).RingUpAsync(new SaleOrder(Guid.NewGuid(), _terminalId, Guid.NewGuid(),
            Roles.Cashier, null, [new SaleItem(variantId, quantity, null, null)], [new Payment(PaymentMethod.Cash, paid)], null,
            RandomNumberGenerator.GetBytes(32)));

    private async Task<decimal> ChargedAsync(IGrainFactory grains, Guid variantId, decimal quantity = 1m)
    {
        var result = await RingUpAsync(grains, variantId, quantity, 1_000_000m);
        Assert.True(result.Outcome == SaleOutcome.Created, $"{result.Outcome}: {string.Join("; ", result.Errors?.Select(e => e.Message) ?? [])}");
        return result.Receipt!.Items.Single().UnitPrice;
    }

    private async Task<SaleFieldError> RefusedAsync(IGrainFactory grains, Guid variantId, decimal quantity = 1m)
    {
        var result = await RingUpAsync(grains, variantId, quantity, 1_000_000m);
        Assert.Equal(SaleOutcome.Invalid, result.Outcome);
        return result.Errors!.Single();
    }

    [Fact]
    public async Task Every_catalog_change_answered_through_one_silo_is_charged_by_the_next_sale_through_the_other()
    {
        var (productId, variantId, secondId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaFirst, productId).CreateAsync(new ProductDraft("Sut", null, null, true,
        [
            new VariantDraft(variantId, "1 l", TestCatalog.Sku(), [TestCatalog.Ean13()], 12000m, 9000m, VariantUnit.L, true),
            new VariantDraft(secondId, "0.5 l", TestCatalog.Sku(), [TestCatalog.Ean13()], 7000m, null, VariantUnit.Piece, true),
        ]))).Outcome);
        Assert.Equal(12000m, await ChargedAsync(_viaSecond, variantId));
        Assert.Equal(7000m, await ChargedAsync(_viaSecond, secondId));

        // Price changes, alternating the silos, each sold at once; the store's cache holds the variant throughout.
        for (var i = 1; i <= 6; i++)
        {
            var (writer, seller) = i % 2 == 0 ? (_viaSecond, _viaFirst) : (_viaFirst, _viaSecond);
            Assert.Equal(CatalogOutcome.Ok, (await Product(writer, productId).UpdateVariantAsync(variantId, new VariantPatch(Price: 12000m + i))).Outcome);
            Assert.Equal(12000m + i, await ChargedAsync(seller, variantId));
        }

        // The cost a sale records as its catalog cost, the unit (whole pieces), barcodes, and the active flags.
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaFirst, productId).UpdateVariantAsync(variantId, new VariantPatch(Unit: VariantUnit.Piece))).Outcome);
        Assert.Equal(new SaleFieldError("items[0].quantity", "must be a whole number: the variant is sold by the piece"),
            await RefusedAsync(_viaSecond, variantId, 0.5m));
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaSecond, productId).UpdateVariantAsync(variantId,
            new VariantPatch(Barcodes: [TestCatalog.Ean13()], Price: 13000m, Unit: VariantUnit.Kg))).Outcome);
        Assert.Equal(13000m, await ChargedAsync(_viaFirst, variantId, 0.5m));
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaFirst, productId).UpdateVariantAsync(variantId, new VariantPatch(Active: false))).Outcome);
        Assert.Equal(new SaleFieldError("items[0].variantId", $"variant {variantId} is not for sale (inactive)"), await RefusedAsync(_viaSecond, variantId));
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaSecond, productId).UpdateVariantAsync(variantId, new VariantPatch(Active: true))).Outcome);
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaSecond, productId).UpdateAsync(new ProductPatch(Active: false))).Outcome);
        Assert.Equal(new SaleFieldError("items[0].variantId", $"variant {secondId} is not for sale (inactive)"), await RefusedAsync(_viaFirst, secondId));
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaFirst, productId).UpdateAsync(new ProductPatch(Active: true))).Outcome);
        Assert.Equal(7000m, await ChargedAsync(_viaSecond, secondId));

        // The tenant grain (the cursor's keeper) reactivates: a new epoch, so the store drops its whole cache.
        await _cluster.DeactivateAsync(((GrainReference)_viaFirst.GetGrain<ITenantGrain>(_tenantId)).GrainId);
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaFirst, productId).UpdateVariantAsync(secondId, new VariantPatch(Price: 7100m))).Outcome);
        Assert.Equal(7100m, await ChargedAsync(_viaSecond, secondId));

        // Variant deletion, then the product's.
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaSecond, productId).DeleteVariantAsync(variantId)).Outcome);
        Assert.Equal(new SaleFieldError("items[0].variantId", $"variant {variantId} does not exist or was deleted"), await RefusedAsync(_viaFirst, variantId));
        Assert.Equal(7100m, await ChargedAsync(_viaFirst, secondId));
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaFirst, productId).DeleteAsync()).Outcome);
        Assert.Equal(new SaleFieldError("items[0].variantId", $"variant {secondId} does not exist or was deleted"), await RefusedAsync(_viaSecond, secondId));
    }

    [Fact]
    public async Task A_terminal_moved_or_deleted_through_one_silo_is_refused_by_the_next_sale_through_the_other()
    {
        var (productId, variantId) = (Guid.NewGuid(), Guid.NewGuid());
        await Product(_viaFirst, productId).CreateAsync(new ProductDraft("Non", null, null, true,
            [new VariantDraft(variantId, "1", TestCatalog.Sku(), [], 3000m, null, VariantUnit.Piece, true)]));
        Assert.Equal(3000m, await ChargedAsync(_viaSecond, variantId));

        var tenant = _viaFirst.GetGrain<ITenantGrain>(_tenantId);
        var other = await tenant.CreateStoreAsync(new StoreFields("Other", null, null, null, null));
        Assert.Equal(DirectoryOutcome.Ok, (await tenant.UpdateTerminalAsync(_terminalId, other.Id, "Till")).Outcome);
        Assert.Equal(new SaleFieldError("terminalId", $"terminal {_terminalId} is not a terminal of store {_storeId}"), await RefusedAsync(_viaSecond, variantId));
        Assert.Equal(DirectoryOutcome.Ok, (await tenant.UpdateTerminalAsync(_terminalId, _storeId, "Till")).Outcome);
        Assert.Equal(3000m, await ChargedAsync(_viaSecond, variantId));
        Assert.Equal(DirectoryOutcome.Ok, await tenant.DeleteTerminalAsync(_terminalId));
        Assert.Equal(new SaleFieldError("terminalId", $"terminal {_terminalId} is not a terminal of store {_storeId}"), await RefusedAsync(_viaSecond, variantId));
    }

    [Fact]
    public async Task A_change_the_log_no_longer_holds_still_reaches_the_store_which_then_drops_everything()
    {
        var (productId, variantId) = (Guid.NewGuid(), Guid.NewGuid());
        await Product(_viaFirst, productId).CreateAsync(new ProductDraft("Choy", null, null, true,
            [new VariantDraft(variantId, "100 g", TestCatalog.Sku(), [], 5000m, null, VariantUnit.Piece, true)]));
        Assert.Equal(5000m, await ChargedAsync(_viaSecond, variantId));

        // The price change, then more variant changes than the tenant's log holds: the store's cursor
        // is no longer covered, so the next batch drops its whole cache.
        await Product(_viaFirst, productId).UpdateVariantAsync(variantId, new VariantPatch(Price: 5500m));
        var bulk = Enumerable.Range(0, CatalogChangeLogCapacity + 1)
            .Select(i => new VariantDraft(Guid.NewGuid(), $"v{i}", TestCatalog.Sku(), [], 100m, null, VariantUnit.Piece, true)).ToArray();
        Assert.Equal(CatalogOutcome.Ok, (await Product(_viaSecond, Guid.NewGuid()).CreateAsync(new ProductDraft("Bulk", null, null, true, bulk))).Outcome);
        Assert.Equal(5500m, await ChargedAsync(_viaSecond, variantId));
        Assert.Equal(100m, await ChargedAsync(_viaFirst, bulk[^1].Id));
    }

    private const int CatalogChangeLogCapacity = JowiShop.Grains.Catalog.CatalogChangeLog.DefaultCapacity;
}
