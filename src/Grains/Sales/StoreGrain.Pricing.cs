using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Customers;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Persistence;

namespace JowiShop.Grains.Sales;

/// <summary>
/// The store grain's judgment of sale orders before they join a batch: the store's config, terminals
/// and discount limits from the tenant grain (one call per batch, which also brings the catalog
/// changes since this store's price cursor), the catalog prices from <see cref="StorePrices"/>
/// (the product grains asked only for the variants not cached), the customers from the customer directory.
/// </summary>
public sealed partial class StoreGrain
{
    private readonly StorePrices _prices = new();
    private readonly Dictionary<Guid, Guid> _variantProducts = [];
    private IReadOnlyList<Guid> _terminals = [];
    private DiscountLimits _discountLimits = DiscountLimits.Default;
    // The tenant's taxes as of the last config; replaced whenever the tenant grain's token differs.
    private SalesTaxes? _taxes;

    public async Task<SaleResult> RingUpAsync(SaleOrder order)
    {
        if (_recent.TryGetValue(order.Id, out var stored))
            return Telemetry.JowiShopMetrics.Counted(Replay(stored, order.RequestHash));
        if (await TwinAsync(order.Id, order.RequestHash) is { } shared)
            return Telemetry.JowiShopMetrics.Counted(shared);
        if (!_exists)
            return Telemetry.JowiShopMetrics.Counted(Missing(new SaleResult(SaleOutcome.StoreNotFound)));
        return await QueueAsync(new PendingSale(order.Id, order.RequestHash) { Order = order });
    }

    /// <summary>
    /// The store's time zone, negative-stock policy, terminals and discount limits, asked of the tenant
    /// grain (memory) before every write, so a change to the store or the tenant settings applies to the
    /// very next sale; with them the catalog changes since the price cursor, applied to the price cache.
    /// The batch's sales were queued before this call, so every change answered before them is in it.
    /// </summary>
    private async Task RefreshConfigAsync()
    {
        // A read-only call: ReadRetryFilter re-sends it if the tenant grain's silo is leaving.
        var config = await GrainFactory.Reference<ITenantGrain>(_tenantId).GetSalesConfigAsync(_storeId, _prices.Cursor, _taxes?.Token ?? default);
        _exists &= config.Store.Exists;
        _timeZone = TimeZoneInfo.TryFindSystemTimeZoneById(config.Store.TimeZone, out var zone) ? zone : TimeZoneInfo.Utc;
        _refuseNegativeStock = config.Store.RefuseNegativeStock;
        _terminals = config.Terminals;
        _discountLimits = config.DiscountLimits;
        _prices.Apply(config.Catalog);
        if (config.Taxes is not null)
            _taxes = config.Taxes;
    }

    /// <summary>
    /// Prices the batch's orders (sales priced by their caller pass as they are); answers the refused
    /// ones at once, as they depend on no commit, and returns the sales to number and commit.
    /// </summary>
    private async Task<List<PendingSale>> PriceAsync(List<PendingSale> batch, DateOnly businessDate)
    {
        var orders = batch.Where(p => p.Sale is null).Select(p => p.Order!).ToArray();
        if (orders.Length == 0)
            return batch;
        var catalog = await CatalogPricesAsync(orders.SelectMany(o => o.Items.Select(i => i.VariantId)));
        var customers = await LiveCustomersAsync(orders);

        var priced = new List<PendingSale>(batch.Count);
        foreach (var pending in batch)
        {
            if (pending.Sale is null)
            {
                var order = pending.Order!;
                var (sale, refusal) = SalePricing.Price(order, _storeId, _terminals,
                    order.CustomerId is { } c && customers.Contains(c), catalog, _discountLimits, _taxes, businessDate);
                if (refusal is not null)
                {
                    Answer(pending, refusal);
                    continue;
                }
                pending.Sale = sale;
            }
            priced.Add(pending);
        }
        return priced;
    }

    /// <summary>
    /// The catalog prices of these variants: cached, or asked of their product grains (whose memory is
    /// the catalog, to the digit: the answers stay the endpoint's), found through one query for the
    /// products of variants never seen. Only a cache miss costs calls.
    /// </summary>
    private async Task<Dictionary<Guid, CatalogPrice>> CatalogPricesAsync(IEnumerable<Guid> variantIds)
    {
        var wanted = variantIds.ToHashSet();
        var prices = new Dictionary<Guid, CatalogPrice>(wanted.Count);
        foreach (var variantId in wanted)
            if (_prices.TryGet(variantId, out var price))
                prices[variantId] = price;
        Telemetry.JowiShopMetrics.PricesLooked(hits: prices.Count, misses: wanted.Count - prices.Count);
        if (prices.Count == wanted.Count)
            return prices;

        var readAt = _prices.Cursor;
        var missing = _prices.Missing(wanted);
        await FindProductsAsync(missing);
        var scanned = await Task.WhenAll(missing.Where(_variantProducts.ContainsKey).Select(v =>
            GrainFactory.Reference<IProductGrain>(_variantProducts[v], _tenantId.ToString()).GetVariantAsync(v)));
        var loaded = scanned.Where(s => s is not null).ToDictionary(s => s!.Variant.Id,
            s => new CatalogPrice(s!.Variant.Price, s.Variant.Cost, s.Variant.Unit, s.Variant.Active && s.ProductActive, s.Variant.TaxRateId, s.CategoryId,
                s.Variant.Fiscal));
        _prices.Add(loaded, readAt);
        foreach (var (variantId, price) in loaded)
            prices[variantId] = price;
        return prices;
    }

    /// <summary>The product of each variant not yet known (live or deleted): a variant never changes product, so this never goes stale.</summary>
    private async Task FindProductsAsync(Guid[] variantIds)
    {
        var unknown = variantIds.Where(v => !_variantProducts.ContainsKey(v)).ToArray();
        if (unknown.Length == 0)
            return;
        if (_variantProducts.Count + unknown.Length > StorePrices.DefaultMaxEntries)
            _variantProducts.Clear();
        await using var cmd = db.CreateCommand("SELECT id, product_id FROM product_variants WHERE tenant_id = $1 AND id = ANY($2)");
        Sql.Add(cmd.Parameters, _tenantId, unknown);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            _variantProducts[reader.GetGuid(0)] = reader.GetGuid(1);
    }

    /// <summary>Which of the orders' customers are live: one directory call per distinct customer, in parallel.</summary>
    private async Task<HashSet<Guid>> LiveCustomersAsync(SaleOrder[] orders)
    {
        var ids = orders.Where(o => o.CustomerId is not null).Select(o => o.CustomerId!.Value).Distinct().ToArray();
        if (ids.Length == 0)
            return [];
        var directory = GrainFactory.Reference<ICustomerDirectoryGrain>(_tenantId);
        var found = await Task.WhenAll(ids.Select(id => directory.GetAsync(id)));
        return found.Where(c => c is not null).Select(c => c!.Id).ToHashSet();
    }
}
