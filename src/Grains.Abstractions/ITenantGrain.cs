using Orleans.Concurrency;

namespace JowiShop.Grains.Abstractions;

/// <summary>
/// One grain per tenant (keyed by the tenant id): the tenant's settings and its store
/// directory, held in memory so that store reads answer without a database round trip.
/// </summary>
public interface ITenantGrain : IGrainWithGuidKey
{
    [ReadOnly]
    Task<TenantSettings> GetSettingsAsync();

    Task<TenantSettings> UpdateSettingsAsync(TenantSettings settings);

    [ReadOnly]
    Task<ListPage<Store>> ListStoresAsync(PageRequest page);

    /// <summary>The live store with this id, or null when it does not exist in this tenant.</summary>
    [ReadOnly]
    Task<Store?> GetStoreAsync(Guid storeId);
}
