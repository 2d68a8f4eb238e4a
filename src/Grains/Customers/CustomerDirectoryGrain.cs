using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Customers;
using JowiShop.Grains.Abstractions.Search;
using JowiShop.Grains.Persistence;
using Npgsql;
using NpgsqlTypes;
using Orleans.Concurrency;

namespace JowiShop.Grains.Customers;

/// <summary>
/// A tenant's live customers in memory (loaded from PostgreSQL on activation), sorted by name for
/// paging. Writes commit their row first, then change memory and the tenant's search index, one
/// write at a time (so both apply them in the order PostgreSQL did); reads interleave with a
/// write's database round trip and see the state before it until it has committed.
/// </summary>
[Reentrant]
public sealed class CustomerDirectoryGrain(NpgsqlDataSource db) : Grain, ICustomerDirectoryGrain
{
    private const string Columns = "id, name, phone, email, card_code, notes, created_at, updated_at";

    private sealed record Entry(Customer Customer, string NameKey);

    private static readonly Comparer<Entry> ByName = Comparer<Entry>.Create((a, b) =>
    {
        var byName = string.CompareOrdinal(a.Customer.Name, b.Customer.Name);
        return byName != 0 ? byName : a.Customer.Id.CompareTo(b.Customer.Id);
    });

    private readonly List<Entry> _byName = [];
    private readonly Dictionary<Guid, Entry> _byId = [];
    private readonly Dictionary<string, Guid> _byPhone = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Guid> _byCard = new(StringComparer.Ordinal);
    private Task _lastWrite = Task.CompletedTask;

    private Guid TenantId => this.GetPrimaryKey();

    private ISearchIndexGrain SearchIndex => GrainFactory.Reference<ISearchIndexGrain>(TenantId);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var cmd = db.CreateCommand($"SELECT {Columns} FROM customers WHERE tenant_id = $1 AND deleted_at IS NULL");
            cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = TenantId });
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var customer = Read(reader);
                var entry = new Entry(customer, SearchKey.Of(customer.Name));
                _byName.Add(entry);
                Index(entry);
            }
            _byName.Sort(ByName);
        }
        catch (NpgsqlException e)
        {
            throw DatabaseFailures.Translate(e); // activation failures bypass the call filter
        }
    }

    public Task<ListPage<Customer>> ListAsync(PageRequest page, string? query)
    {
        if (string.IsNullOrEmpty(query))
        {
            var skip = page.SkipIn(_byName.Count);
            var items = _byName.GetRange(skip, Math.Min(page.Limit, _byName.Count - skip)).Select(e => e.Customer).ToArray();
            return Task.FromResult(new ListPage<Customer>(items, page.Page, page.Limit, _byName.Count));
        }

        var match = new CustomerMatch(query);
        var pageItems = new List<Customer>(page.Limit);
        var total = 0;
        foreach (var entry in _byName)
        {
            if (match.Rank(entry.NameKey, entry.Customer.Email, entry.Customer.Phone) < 0)
                continue;
            if (total >= page.Offset && pageItems.Count < page.Limit)
                pageItems.Add(entry.Customer);
            total++;
        }
        return Task.FromResult(new ListPage<Customer>(pageItems, page.Page, page.Limit, total));
    }

    public Task<Customer?> GetAsync(Guid customerId) => Task.FromResult(_byId.GetValueOrDefault(customerId)?.Customer);

    public Task<Customer?> FindAsync(CustomerKey key, string value) => Task.FromResult(key switch
    {
        CustomerKey.Phone => _byPhone.TryGetValue(value, out var id) ? _byId[id].Customer : null,
        CustomerKey.Card => _byCard.TryGetValue(value, out var id) ? _byId[id].Customer : null,
        // Emails are not unique: the first holder by name, as the list shows them.
        _ => _byName.Find(e => e.Customer.Email == value)?.Customer,
    });

    public Task<CustomerWrite> CreateAsync(CustomerFields fields)
    {
        var now = DateTimeOffset.UtcNow;
        return SerializedAsync(() => WriteAsync(
            $"INSERT INTO customers (id, tenant_id, name, phone, email, card_code, notes, created_at, updated_at) VALUES ($2, $1, $3, $4, $5, $6, $7, $8, $8) RETURNING {Columns}",
            Guid.CreateVersion7(), fields, now));
    }

    public Task<CustomerWrite> UpdateAsync(Guid customerId, CustomerFields fields) =>
        SerializedAsync(() => _byId.ContainsKey(customerId)
            ? WriteAsync(
                $"UPDATE customers SET name = $3, phone = $4, email = $5, card_code = $6, notes = $7, updated_at = $8 WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING {Columns}",
                customerId, fields, DateTimeOffset.UtcNow)
            : Task.FromResult(new CustomerWrite(null)));

    public Task<bool> DeleteAsync(Guid customerId) =>
        SerializedAsync(async () =>
        {
            if (!_byId.TryGetValue(customerId, out var entry))
                return false;
            await using var cmd = db.CreateCommand("UPDATE customers SET deleted_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL");
            Sql.Add(cmd.Parameters, TenantId, customerId);
            await cmd.ExecuteNonQueryAsync();
            Remove(entry);
            await SearchIndex.RemoveCustomerAsync(customerId);
            return true;
        });

    private async Task<CustomerWrite> WriteAsync(string sql, Guid id, CustomerFields f, DateTimeOffset now)
    {
        await using var cmd = db.CreateCommand(sql);
        Sql.Add(cmd.Parameters, TenantId, id, f.Name, Text(f.Phone), Text(f.Email), Text(f.CardCode), Text(f.Notes), now);
        Customer? stored;
        try
        {
            await using var reader = await cmd.ExecuteReaderAsync();
            stored = await reader.ReadAsync() ? Read(reader) : null;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return e.ConstraintName == "ux_customers_tenant_card"
                ? new CustomerWrite(null, CustomerConflict.Card, _byCard.GetValueOrDefault(f.CardCode!))
                : new CustomerWrite(null, CustomerConflict.Phone, _byPhone.GetValueOrDefault(f.Phone!));
        }
        if (stored is null)
            return new CustomerWrite(null);
        if (_byId.TryGetValue(stored.Id, out var previous))
            Remove(previous);
        var entry = new Entry(stored, SearchKey.Of(stored.Name));
        var at = _byName.BinarySearch(entry, ByName);
        _byName.Insert(at < 0 ? ~at : at, entry);
        Index(entry);
        await SearchIndex.PutCustomerAsync(new CustomerHit(stored.Id, stored.Name, stored.Phone, stored.Email));
        return new CustomerWrite(stored);
    }

    /// <summary>Runs writes one after another, while reads go on between their awaits.</summary>
    private async Task<T> SerializedAsync<T>(Func<Task<T>> write)
    {
        var previous = _lastWrite;
        var done = new TaskCompletionSource();
        _lastWrite = done.Task;
        try
        {
            await previous;
            return await write();
        }
        finally
        {
            done.SetResult();
        }
    }

    private void Index(Entry entry)
    {
        var c = entry.Customer;
        _byId[c.Id] = entry;
        if (c.Phone is not null)
            _byPhone[c.Phone] = c.Id;
        if (c.CardCode is not null)
            _byCard[c.CardCode] = c.Id;
    }

    private void Remove(Entry entry)
    {
        var c = entry.Customer;
        var at = _byName.BinarySearch(entry, ByName);
        if (at >= 0)
            _byName.RemoveAt(at);
        _byId.Remove(c.Id);
        if (c.Phone is not null && _byPhone.GetValueOrDefault(c.Phone) == c.Id)
            _byPhone.Remove(c.Phone);
        if (c.CardCode is not null && _byCard.GetValueOrDefault(c.CardCode) == c.Id)
            _byCard.Remove(c.CardCode);
    }

    private static object Text(string? value) => (object?)value ?? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static Customer Read(NpgsqlDataReader r) => new(r.GetGuid(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2),
        r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
        r.GetFieldValue<DateTimeOffset>(6), r.GetFieldValue<DateTimeOffset>(7));
}
