using JowiShop.Grains.Abstractions.Catalog;
using Orleans.Concurrency;

namespace JowiShop.Grains.Abstractions;

/// <summary>
/// One grain per tenant (keyed by the tenant id): the tenant's settings and its directory of
/// stores and terminals, held in memory so that these reads answer without a database round
/// trip. Every write to stores and terminals passes here, which keeps that memory current.
/// </summary>
public interface ITenantGrain : IGrainWithGuidKey
{
    [ReadOnly]
    Task<TenantSettings> GetSettingsAsync();

    /// <summary>Replaces the settings; <paramref name="actorId"/> is recorded in the audit trail.</summary>
    Task<TenantSettings> UpdateSettingsAsync(TenantSettings settings, Guid? actorId = null);

    [ReadOnly]
    Task<ListPage<Store>> ListStoresAsync(PageRequest page);

    /// <summary>The live store with this id, or null when it does not exist in this tenant.</summary>
    [ReadOnly]
    Task<Store?> GetStoreAsync(Guid storeId);

    /// <summary>The effective time zone and negative-stock policy of a store (its own, else the tenant's).</summary>
    [ReadOnly]
    Task<StoreConfig> GetStoreConfigAsync(Guid storeId);

    /// <summary>
    /// The store's config for a batch of sales (asked before every batch): with its live terminals, the
    /// discount limits and the catalog changes since <paramref name="since"/>, the store grain's cursor.
    /// </summary>
    /// <remarks>
    /// <paramref name="taxToken"/> is the <see cref="SalesTaxes.Token"/> the store holds: the answer carries the
    /// tenant's taxes only when they differ, so a rate change reaches the very next batch at no cost otherwise.
    /// </remarks>
    [ReadOnly]
    Task<StoreSalesConfig> GetSalesConfigAsync(Guid storeId, CatalogCursor since, Guid taxToken = default);

    /// <summary>The tenant's VAT-payer flag, price mode, rates (with their histories) and default rate.</summary>
    [ReadOnly]
    Task<TaxSettings> GetTaxesAsync();

    /// <summary>Sets the VAT-payer flag, the price mode and the default rate (which must be one of the tenant's).</summary>
    Task<TaxWrite> UpdateTaxSettingsAsync(bool vatPayer, TaxPricing prices, Guid defaultRateId, Guid? actorId = null);

    /// <summary>A new rate with its first version.</summary>
    Task<TaxWrite> CreateTaxRateAsync(string name, TaxRateVersion first, Guid? actorId = null);

    /// <summary>
    /// Renames a rate and/or gives it a new value from a business date on (a version with the same date
    /// replaces that one). Receipts keep what they were charged.
    /// </summary>
    Task<TaxWrite> UpdateTaxRateAsync(Guid rateId, string? name, TaxRateVersion? version, Guid? actorId = null);

    /// <summary>
    /// The category API calls this after committing a category write and before answering it: the tenant grain
    /// reloads the categories' parents and rates, so the next batch of every store prices by them.
    /// </summary>
    Task CategoriesChangedAsync();

    /// <summary>
    /// Product grains call this after committing a change to these variants (price, cost, unit, active,
    /// barcodes, names, deletion) and before answering it: store grains drop them from their price
    /// caches at their next batch. Idempotent; synchronous, so it never waits behind a directory write.
    /// </summary>
    [AlwaysInterleave]
    Task<CatalogCursor> CatalogChangedAsync(IReadOnlyList<Guid> variantIds);

    Task<Store> CreateStoreAsync(StoreFields fields);

    Task<DirectoryWrite<Store>> UpdateStoreAsync(Guid storeId, StoreFields fields);

    Task<DirectoryOutcome> DeleteStoreAsync(Guid storeId);

    [ReadOnly]
    Task<ListPage<Terminal>> ListTerminalsAsync(Guid? storeId, PageRequest page);

    [ReadOnly]
    Task<Terminal?> GetTerminalAsync(Guid terminalId);

    Task<DirectoryWrite<Terminal>> CreateTerminalAsync(Guid storeId, string name);

    Task<DirectoryWrite<Terminal>> UpdateTerminalAsync(Guid terminalId, Guid storeId, string name);

    Task<DirectoryOutcome> DeleteTerminalAsync(Guid terminalId);
}
