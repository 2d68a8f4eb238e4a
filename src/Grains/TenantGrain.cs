using JowiShop.Grains.Abstractions;
using Npgsql;

namespace JowiShop.Grains;

/// <summary>
/// A tenant's settings (through the ADO.NET grain storage provider) and its store directory
/// (rows loaded from PostgreSQL on activation and kept current by the writes that pass here).
/// </summary>
public sealed class TenantGrain(
    [PersistentState("tenantSettings", GrainStorage.Name)] IPersistentState<TenantSettingsState> settings,
    NpgsqlDataSource db) : Grain, ITenantGrain
{
    private Guid TenantId => this.GetPrimaryKey();

    // Sorted by (name, id): the list order clients page through.
    private readonly List<Store> _stores = [];
    private readonly Dictionary<Guid, Store> _storesById = [];

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand(
            """
            SELECT id, name, address, phone, time_zone, allow_negative_stock, created_at, updated_at
            FROM stores
            WHERE tenant_id = $1 AND deleted_at IS NULL
            ORDER BY name, id
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = TenantId });
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var store = new Store(
                reader.GetGuid(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetBoolean(5),
                reader.GetFieldValue<DateTimeOffset>(6),
                reader.GetFieldValue<DateTimeOffset>(7));
            _stores.Add(store);
            _storesById[store.Id] = store;
        }
    }

    public Task<TenantSettings> GetSettingsAsync() => Task.FromResult(settings.State.Settings);

    public async Task<TenantSettings> UpdateSettingsAsync(TenantSettings updated)
    {
        settings.State.Settings = updated;
        await settings.WriteStateAsync();
        return updated;
    }

    public Task<ListPage<Store>> ListStoresAsync(PageRequest page)
    {
        var items = _stores.Skip(page.Offset).Take(page.Limit).ToArray();
        return Task.FromResult(new ListPage<Store>(items, page.Page, page.Limit, _stores.Count));
    }

    public Task<Store?> GetStoreAsync(Guid storeId) =>
        Task.FromResult(_storesById.GetValueOrDefault(storeId));
}
