using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Sales;

namespace JowiShop.Grains.Sales;

/// <summary>
/// What a sale needs of a variant from the catalog: its price, cost, unit, whether it is for sale (variant and
/// product active), its own tax rate and its product's category (the rate is resolved per batch from the
/// tenant's taxes, so a rate or category change needs no cache drop).
/// </summary>
public readonly record struct CatalogPrice(decimal Price, decimal? Cost, VariantUnit Unit, bool ForSale, Guid? TaxRateId = null, Guid? CategoryId = null,
    FiscalCodes? Fiscal = null);

/// <summary>
/// A store grain's catalog prices of the variants it sells, exact as of <see cref="Cursor"/>: before
/// every batch the store grain hands it the tenant's catalog changes since that cursor, which drop
/// exactly the variants changed (or everything, when the change log no longer covers the cursor or
/// the tenant grain was reactivated); dropped and unseen variants are asked of their product grains
/// after the cursor was taken, so a value read can only be newer than the cursor says. Pure: no grain,
/// no database.
/// </summary>
public sealed class StorePrices(int maxEntries = StorePrices.DefaultMaxEntries)
{
    /// <summary>About 64 bytes each: a few MB per store at most, then it starts over.</summary>
    public const int DefaultMaxEntries = 65_536;

    private readonly Dictionary<Guid, CatalogPrice> _prices = [];

    public CatalogCursor Cursor { get; private set; }

    public int Count => _prices.Count;

    /// <summary>Drops what changed since the cursor and moves the cursor to the changes' one.</summary>
    public void Apply(CatalogChanges changes)
    {
        if (changes.Changed is null)
            _prices.Clear();
        else
            foreach (var variantId in changes.Changed)
                _prices.Remove(variantId);
        Cursor = changes.Cursor;
    }

    public bool TryGet(Guid variantId, out CatalogPrice price) => _prices.TryGetValue(variantId, out price);

    /// <summary>The variants among these (distinct) that are not cached.</summary>
    public Guid[] Missing(IEnumerable<Guid> variantIds)
    {
        var missing = new HashSet<Guid>();
        foreach (var variantId in variantIds)
            if (!_prices.ContainsKey(variantId))
                missing.Add(variantId);
        return missing.ToArray();
    }

    /// <summary>
    /// Keeps prices read from the product grains, unless the cursor moved since the read began (then they may
    /// predate a change this cache has already dropped). Past the bound the cache starts over.
    /// </summary>
    public void Add(IReadOnlyDictionary<Guid, CatalogPrice> loaded, CatalogCursor readAt)
    {
        if (readAt != Cursor)
            return;
        if (_prices.Count + loaded.Count > maxEntries)
            _prices.Clear();
        foreach (var (variantId, price) in loaded)
            _prices[variantId] = price;
    }
}
