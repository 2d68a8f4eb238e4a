using JowiShop.Grains.Persistence;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Search;
using JowiShop.Grains.Catalog;
using Npgsql;
using NpgsqlTypes;

namespace JowiShop.Grains;

/// <summary>
/// A tenant's settings (through the ADO.NET grain storage provider) and its directory of stores
/// and terminals (rows loaded from PostgreSQL on activation). Every write commits its row first
/// and only then changes memory, so a failed write leaves the directory as it was.
/// </summary>
public sealed class TenantGrain(
    [PersistentState("tenantSettings", GrainStorage.Name)] IPersistentState<TenantSettingsState> settings,
    NpgsqlDataSource db) : Grain, ITenantGrain
{
    private Guid TenantId => this.GetPrimaryKey();

    private ISearchIndexGrain SearchIndex => GrainFactory.Reference<ISearchIndexGrain>(TenantId);

    private readonly Dictionary<Guid, Store> _stores = [];
    private readonly Dictionary<Guid, Terminal> _terminals = [];
    // Sorted views for paging, rebuilt after writes (writes are rare, lists are frequent).
    private Store[] _storeOrder = [];
    private Terminal[] _terminalOrder = [];
    // Each store's live terminals, sent with every batch's config (rebuilt after writes).
    private Dictionary<Guid, Guid[]> _storeTerminals = [];
    // The catalog cursor store grains price by: memory only, a new epoch per activation.
    private readonly CatalogChangeLog _catalog = new();
    // Each category's parent and rate (live categories), for the rate inheritance store grains price by.
    private Dictionary<Guid, CategoryTax> _categoryTaxes = [];
    // What store grains price tax by; a new token with every change and every activation (docs/taxes.md).
    private SalesTaxes? _salesTaxes;

    private TaxSettings Taxes => settings.State.Taxes ?? TaxSettings.Defaults(TenantId);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        try
        {
            await LoadDirectoryAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            throw DatabaseFailures.Translate(e); // activation failures bypass the call filter
        }
    }

    private async Task LoadDirectoryAsync(CancellationToken cancellationToken)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(Sql.Command(
            "SELECT id, name, address, phone, time_zone, allow_negative_stock, created_at, updated_at FROM stores WHERE tenant_id = $1 AND deleted_at IS NULL",
            TenantId));
        batch.BatchCommands.Add(Sql.Command(
            "SELECT id, store_id, name, created_at, updated_at FROM terminals WHERE tenant_id = $1 AND deleted_at IS NULL", TenantId));
        batch.BatchCommands.Add(Sql.Command(CategoryTaxesSql, TenantId));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var store = new Store(reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetBoolean(5), reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7));
            _stores[store.Id] = store;
        }
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var terminal = new Terminal(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4));
            _terminals[terminal.Id] = terminal;
        }
        await reader.NextResultAsync(cancellationToken);
        _categoryTaxes = await ReadCategoryTaxesAsync(reader, cancellationToken);
        Reorder();
    }

    private const string CategoryTaxesSql = "SELECT id, parent_id, tax_rate_id FROM categories WHERE tenant_id = $1 AND deleted_at IS NULL";

    private static async Task<Dictionary<Guid, CategoryTax>> ReadCategoryTaxesAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var categories = new Dictionary<Guid, CategoryTax>();
        while (await reader.ReadAsync(ct))
            categories[reader.GetGuid(0)] = new CategoryTax(reader.IsDBNull(1) ? null : reader.GetGuid(1), reader.IsDBNull(2) ? null : reader.GetGuid(2));
        return categories;
    }

    private SalesTaxes SalesTaxes => _salesTaxes ??= new SalesTaxes(Guid.NewGuid(), Taxes, _categoryTaxes);

    public Task<TaxSettings> GetTaxesAsync() => Task.FromResult(Taxes);

    public Task<TaxWrite> UpdateTaxSettingsAsync(bool vatPayer, TaxPricing prices, Guid defaultRateId, Guid? actorId = null)
    {
        var current = Taxes;
        if (current.Rate(defaultRateId) is null)
            return Task.FromResult(new TaxWrite(TaxWriteOutcome.DefaultRateNotFound));
        return WriteTaxesAsync(current with { VatPayer = vatPayer, Prices = prices, DefaultRateId = defaultRateId }, null, actorId);
    }

    public Task<TaxWrite> CreateTaxRateAsync(string name, TaxRateVersion first, Guid? actorId = null)
    {
        var current = Taxes;
        if (current.Rates.Any(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
            return Task.FromResult(new TaxWrite(TaxWriteOutcome.NameTaken));
        var rate = new TaxRate(Guid.CreateVersion7(), name, [first]);
        return WriteTaxesAsync(current with { Rates = [.. current.Rates, rate] }, rate, actorId);
    }

    public Task<TaxWrite> UpdateTaxRateAsync(Guid rateId, string? name, TaxRateVersion? version, Guid? actorId = null)
    {
        var current = Taxes;
        if (current.Rate(rateId) is not { } rate)
            return Task.FromResult(new TaxWrite(TaxWriteOutcome.NotFound));
        if (name is not null && current.Rates.Any(r => r.Id != rateId && string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
            return Task.FromResult(new TaxWrite(TaxWriteOutcome.NameTaken));
        var updated = rate with
        {
            Name = name ?? rate.Name,
            History = version is null
                ? rate.History
                : [.. rate.History.Where(v => v.EffectiveFrom != version.EffectiveFrom).Append(version).OrderBy(v => v.EffectiveFrom)],
        };
        return WriteTaxesAsync(current with { Rates = current.Rates.Select(r => r.Id == rateId ? updated : r).ToArray() }, updated, actorId);
    }

    /// <summary>Stores the taxes, then drops the store grains' view of them (a new token): the next batch of every store prices by them.</summary>
    private async Task<TaxWrite> WriteTaxesAsync(TaxSettings updated, TaxRate? rate, Guid? actorId)
    {
        var previous = settings.State.Taxes;
        settings.State.Taxes = updated;
        await StoreStateAsync(() => settings.State.Taxes = previous);
        _salesTaxes = null;
        await AuditAsync(actorId, "tenant.taxes_changed", new { from = previous ?? TaxSettings.Defaults(TenantId), to = updated });
        return new TaxWrite(TaxWriteOutcome.Ok, updated, rate);
    }

    public async Task CategoriesChangedAsync()
    {
        try
        {
            await using var cmd = db.CreateCommand(CategoryTaxesSql);
            Sql.Add(cmd.Parameters, TenantId);
            await using var reader = await cmd.ExecuteReaderAsync();
            _categoryTaxes = await ReadCategoryTaxesAsync(reader, CancellationToken.None);
        }
        catch (NpgsqlException e)
        {
            throw DatabaseFailures.Translate(e);
        }
        _salesTaxes = null;
    }

    public Task<TenantSettings> GetSettingsAsync() =>
        Task.FromResult(settings.State.Settings with { MaxDiscountPercent = settings.State.Settings.DiscountLimits });

    public async Task<TenantSettings> UpdateSettingsAsync(TenantSettings updated, Guid? actorId = null)
    {
        var previous = settings.State.Settings;
        settings.State.Settings = updated;
        await StoreStateAsync(() => settings.State.Settings = previous);
        await AuditAsync(actorId, "tenant.settings_changed", new { from = previous, to = updated });
        return updated;
    }

    /// <summary>Writes the settings document as memory now has it; if it is not stored, <paramref name="undo"/> puts memory back first.</summary>
    private async Task StoreStateAsync(Action undo)
    {
        try
        {
            await settings.WriteStateAsync();
        }
        catch
        {
            undo(); // not stored: memory must not claim it was
            throw;
        }
    }

    /// <summary>
    /// The audit entry of a settings change. The storage provider owns its own transaction, so the
    /// entry follows the committed change (a failure here is answered as an error, with the change
    /// already made: docs/security.md).
    /// </summary>
    private async Task AuditAsync(Guid? actorId, string action, object details)
    {
        try
        {
            await using var audit = db.CreateBatch();
            audit.BatchCommands.Add(AuditTrail.Entry(TenantId, actorId, action, "tenant", TenantId, details: details));
            await audit.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException e)
        {
            throw DatabaseFailures.Translate(e);
        }
    }

    public Task<ListPage<Store>> ListStoresAsync(PageRequest page) =>
        Task.FromResult(new ListPage<Store>(_storeOrder.Skip(page.SkipIn(_storeOrder.Length)).Take(page.Limit).ToArray(), page.Page, page.Limit, _storeOrder.Length));

    public Task<Store?> GetStoreAsync(Guid storeId) => Task.FromResult(_stores.GetValueOrDefault(storeId));

    public Task<StoreConfig> GetStoreConfigAsync(Guid storeId) => Task.FromResult(ConfigOf(storeId));

    private StoreConfig ConfigOf(Guid storeId)
    {
        var tenant = settings.State.Settings;
        return _stores.TryGetValue(storeId, out var store)
            ? new StoreConfig(true, store.TimeZone ?? tenant.TimeZone,
                store.AllowNegativeStock is { } allow ? !allow : tenant.NegativeStock == NegativeStockPolicy.Refuse)
            : new StoreConfig(false, tenant.TimeZone, tenant.NegativeStock == NegativeStockPolicy.Refuse);
    }

    public Task<StoreSalesConfig> GetSalesConfigAsync(Guid storeId, CatalogCursor since, Guid taxToken = default)
    {
        var taxes = SalesTaxes;
        return Task.FromResult(new StoreSalesConfig(ConfigOf(storeId), _storeTerminals.GetValueOrDefault(storeId) ?? [],
            settings.State.Settings.DiscountLimits, _catalog.Since(since), taxes.Token == taxToken ? null : taxes));
    }

    public Task<CatalogCursor> CatalogChangedAsync(IReadOnlyList<Guid> variantIds) => Task.FromResult(_catalog.Record(variantIds));

    public async Task<Store> CreateStoreAsync(StoreFields fields)
    {
        var now = DateTimeOffset.UtcNow;
        var store = new Store(Guid.CreateVersion7(), fields.Name, fields.Address, fields.Phone, fields.TimeZone, fields.AllowNegativeStock, now, now);
        await ExecuteAsync(
            "INSERT INTO stores (id, tenant_id, name, address, phone, time_zone, allow_negative_stock, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            store.Id, TenantId, store.Name, Nullable(store.Address), Nullable(store.Phone), Nullable(store.TimeZone),
            store.AllowNegativeStock is { } a ? a : new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Boolean }, now);
        _stores[store.Id] = store;
        Reorder();
        await SearchIndex.PutStoreAsync(new StoreHit(store.Id, store.Name));
        return store;
    }

    public async Task<DirectoryWrite<Store>> UpdateStoreAsync(Guid storeId, StoreFields fields)
    {
        if (!_stores.TryGetValue(storeId, out var current))
            return new DirectoryWrite<Store>(DirectoryOutcome.NotFound);
        var updated = current with
        {
            Name = fields.Name, Address = fields.Address, Phone = fields.Phone, TimeZone = fields.TimeZone,
            AllowNegativeStock = fields.AllowNegativeStock, UpdatedAt = DateTimeOffset.UtcNow,
        };
        // Only the store's own columns: the receipt sequences and the commit fence belong to its store grain.
        await ExecuteAsync(
            "UPDATE stores SET name = $3, address = $4, phone = $5, time_zone = $6, allow_negative_stock = $7, updated_at = $8 WHERE tenant_id = $1 AND id = $2",
            TenantId, storeId, updated.Name, Nullable(updated.Address), Nullable(updated.Phone), Nullable(updated.TimeZone),
            updated.AllowNegativeStock is { } a ? a : new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Boolean }, updated.UpdatedAt);
        _stores[storeId] = updated;
        Reorder();
        if (updated.Name != current.Name)
            await SearchIndex.PutStoreAsync(new StoreHit(storeId, updated.Name));
        return new DirectoryWrite<Store>(DirectoryOutcome.Ok, updated);
    }

    public async Task<DirectoryOutcome> DeleteStoreAsync(Guid storeId)
    {
        if (!_stores.ContainsKey(storeId))
            return DirectoryOutcome.NotFound;
        if (_terminals.Values.Any(t => t.StoreId == storeId))
            return DirectoryOutcome.StoreHasTerminals;
        await ExecuteAsync("UPDATE stores SET deleted_at = now() WHERE tenant_id = $1 AND id = $2", TenantId, storeId);
        _stores.Remove(storeId);
        Reorder();
        await SearchIndex.RemoveStoreAsync(storeId);
        return DirectoryOutcome.Ok;
    }

    public Task<ListPage<Terminal>> ListTerminalsAsync(Guid? storeId, PageRequest page)
    {
        var matching = storeId is null ? _terminalOrder : _terminalOrder.Where(t => t.StoreId == storeId).ToArray();
        return Task.FromResult(new ListPage<Terminal>(matching.Skip(page.SkipIn(matching.Length)).Take(page.Limit).ToArray(), page.Page, page.Limit, matching.Length));
    }

    public Task<Terminal?> GetTerminalAsync(Guid terminalId) => Task.FromResult(_terminals.GetValueOrDefault(terminalId));

    public async Task<DirectoryWrite<Terminal>> CreateTerminalAsync(Guid storeId, string name)
    {
        if (!_stores.ContainsKey(storeId))
            return new DirectoryWrite<Terminal>(DirectoryOutcome.StoreNotFound);
        var now = DateTimeOffset.UtcNow;
        var terminal = new Terminal(Guid.CreateVersion7(), storeId, name, now, now);
        await ExecuteAsync("INSERT INTO terminals (id, tenant_id, store_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
            terminal.Id, TenantId, storeId, name, now);
        _terminals[terminal.Id] = terminal;
        Reorder();
        return new DirectoryWrite<Terminal>(DirectoryOutcome.Ok, terminal);
    }

    public async Task<DirectoryWrite<Terminal>> UpdateTerminalAsync(Guid terminalId, Guid storeId, string name)
    {
        if (!_terminals.TryGetValue(terminalId, out var current))
            return new DirectoryWrite<Terminal>(DirectoryOutcome.NotFound);
        if (!_stores.ContainsKey(storeId))
            return new DirectoryWrite<Terminal>(DirectoryOutcome.StoreNotFound);
        var updated = current with { StoreId = storeId, Name = name, UpdatedAt = DateTimeOffset.UtcNow };
        await ExecuteAsync("UPDATE terminals SET store_id = $3, name = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2",
            TenantId, terminalId, storeId, name, updated.UpdatedAt);
        _terminals[terminalId] = updated;
        Reorder();
        return new DirectoryWrite<Terminal>(DirectoryOutcome.Ok, updated);
    }

    public async Task<DirectoryOutcome> DeleteTerminalAsync(Guid terminalId)
    {
        if (!_terminals.ContainsKey(terminalId))
            return DirectoryOutcome.NotFound;
        await ExecuteAsync("UPDATE terminals SET deleted_at = now() WHERE tenant_id = $1 AND id = $2", TenantId, terminalId);
        _terminals.Remove(terminalId);
        Reorder();
        return DirectoryOutcome.Ok;
    }

    private void Reorder()
    {
        _storeOrder = _stores.Values.OrderBy(s => s.Name, StringComparer.Ordinal).ThenBy(s => s.Id).ToArray();
        _terminalOrder = _terminals.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ThenBy(t => t.Id).ToArray();
        _storeTerminals = _terminals.Values.GroupBy(t => t.StoreId).ToDictionary(g => g.Key, g => g.Select(t => t.Id).ToArray());
    }

    private static object Nullable(string? value) => (object?)value ?? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private async Task ExecuteAsync(string sql, params object[] values)
    {
        await using var cmd = db.CreateCommand(sql);
        Sql.Add(cmd.Parameters, values);
        await cmd.ExecuteNonQueryAsync();
    }

}
