using JowiShop.Grains.Abstractions.Search;
using JowiShop.Grains.Customers;
using JowiShop.Grains.Persistence;
using Npgsql;
using Orleans.Concurrency;

namespace JowiShop.Grains.Search;

/// <summary>
/// A tenant's search index in memory: every live product's name (as a search key), SKUs and
/// barcodes, every live customer's name, phone and email, every live store's name; loaded from
/// PostgreSQL on activation and kept current by the grains that own those rows, which put an
/// entry after each committed change and before answering. Each field is a <see cref="TextIndex{T}"/>
/// in page order (name, then id), and a search fills its page tier by tier (exact, prefix,
/// substring) from them, each tier touching about a page of entries rather than all its matches:
/// the cost of a search does not grow with the catalog (docs/search.md).
/// </summary>
[Reentrant]
public sealed class SearchIndexGrain(NpgsqlDataSource db) : Grain, ISearchIndexGrain
{
    private sealed record Entry(Guid Id, string Name, string Key, bool Active, string[] Skus, string[] Barcodes);

    private sealed record NamedEntry<T>(T Hit, Guid Id, string Name, string Key);

    private static readonly Comparer<Entry> ByName = Comparer<Entry>.Create((a, b) =>
        string.CompareOrdinal(a.Name, b.Name) is var c and not 0 ? c : a.Id.CompareTo(b.Id));

    private readonly Dictionary<Guid, Entry> _byId = [];
    private readonly TextIndex<Entry> _names = new(ByName, inner: true);
    private readonly TextIndex<Entry> _skus = new(ByName, inner: false); // lower-cased
    private readonly TextIndex<Entry> _barcodes = new(ByName, inner: false);
    private readonly CustomerNames _customers = new();
    private readonly SortedNames<StoreHit> _stores = new();

    private Guid TenantId => this.GetPrimaryKey();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        try
        {
            await LoadAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            throw DatabaseFailures.Translate(e); // activation failures bypass the call filter
        }
    }

    internal const string ProductsSql = "SELECT id, name, active FROM products WHERE tenant_id = $1 AND deleted_at IS NULL";
    internal const string SkusSql = "SELECT product_id, sku FROM product_variants WHERE tenant_id = $1 AND deleted_at IS NULL";
    internal const string BarcodesSql =
        """
        SELECT v.product_id, b.barcode FROM variant_barcodes b JOIN product_variants v ON v.id = b.variant_id AND v.deleted_at IS NULL
        WHERE b.tenant_id = $1 AND b.deleted_at IS NULL
        """;
    internal const string CustomersSql = "SELECT id, name, phone, email FROM customers WHERE tenant_id = $1 AND deleted_at IS NULL";
    internal const string StoresSql = "SELECT id, name FROM stores WHERE tenant_id = $1 AND deleted_at IS NULL";

    private async Task LoadAsync(CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(Sql.Command(ProductsSql, TenantId));
        batch.BatchCommands.Add(Sql.Command(SkusSql, TenantId));
        batch.BatchCommands.Add(Sql.Command(BarcodesSql, TenantId));
        batch.BatchCommands.Add(Sql.Command(CustomersSql, TenantId));
        batch.BatchCommands.Add(Sql.Command(StoresSql, TenantId));
        var products = new Dictionary<Guid, (string Name, bool Active, List<string> Skus, List<string> Barcodes)>();
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            products[reader.GetGuid(0)] = (reader.GetString(1), reader.GetBoolean(2), [], []);
        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct))
            if (products.TryGetValue(reader.GetGuid(0), out var p))
                p.Skus.Add(reader.GetString(1));
        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct))
            if (products.TryGetValue(reader.GetGuid(0), out var p))
                p.Barcodes.Add(reader.GetString(1));
        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct))
            _customers.Load(reader.GetGuid(0), reader.GetString(1), new CustomerHit(reader.GetGuid(0), reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct))
            _stores.Load(reader.GetGuid(0), reader.GetString(1), new StoreHit(reader.GetGuid(0), reader.GetString(1)));
        _customers.Sort();
        _stores.Sort();

        // In page order, so that every gram list is built in order (no sorting of lists).
        var entries = products.Select(p => ToEntry(new CatalogSearchEntry(p.Key, p.Value.Name, p.Value.Active, p.Value.Skus, p.Value.Barcodes)))
            .OrderBy(e => e, ByName).ToArray();
        foreach (var entry in entries)
        {
            _byId[entry.Id] = entry;
            Index(entry, bulk: true);
        }
        _names.Sort();
        _skus.Sort();
        _barcodes.Sort();
    }

    public Task<SearchResults> SearchAsync(string query, int limit) =>
        Task.FromResult(new SearchResults(SearchProducts(query, limit), _customers.Search(query, limit), _stores.Search(query, limit)));

    private ProductHit[] SearchProducts(string query, int limit)
    {
        var literal = query.Trim();
        var key = SearchKey.Of(literal);
        var page = new RankedPage<Entry>(ByName, limit);
        // Names: exact (0), prefix (1), other substrings (3, only when the prefixes leave room);
        // SKUs (any case) and barcodes (as typed): exact (0), prefix (2). Offered in this order:
        // at equal ranks the first names how the product matched.
        _names.Exact(key, page, 0, "name");
        if (_names.Prefixed(key, page, 1, "name") < limit)
            _names.Inner(key, page, 3, "name");
        _skus.Exact(key, page, 0, "sku");
        _skus.Prefixed(key, page, 2, "sku");
        _barcodes.Exact(literal, page, 0, "barcode");
        _barcodes.Prefixed(literal, page, 2, "barcode");
        return page.Best().Select(h => new ProductHit(h.Item.Id, h.Item.Name, h.Item.Active, h.Tag!)).ToArray();
    }

    public Task PutCustomerAsync(CustomerHit customer)
    {
        _customers.Put(customer.Id, customer.Name, customer);
        return Task.CompletedTask;
    }

    public Task RemoveCustomerAsync(Guid customerId)
    {
        _customers.Remove(customerId);
        return Task.CompletedTask;
    }

    public Task PutStoreAsync(StoreHit store)
    {
        _stores.Put(store.Id, store.Name, store);
        return Task.CompletedTask;
    }

    public Task RemoveStoreAsync(Guid storeId)
    {
        _stores.Remove(storeId);
        return Task.CompletedTask;
    }

    public Task PutProductAsync(CatalogSearchEntry product)
    {
        Remove(product.ProductId);
        var entry = ToEntry(product);
        _byId[entry.Id] = entry;
        Index(entry, bulk: false);
        return Task.CompletedTask;
    }

    public Task RemoveProductAsync(Guid productId)
    {
        Remove(productId);
        return Task.CompletedTask;
    }

    private void Index(Entry entry, bool bulk)
    {
        _names.Add(entry.Key, entry, bulk);
        foreach (var sku in entry.Skus)
            _skus.Add(sku, entry, bulk);
        foreach (var barcode in entry.Barcodes)
            _barcodes.Add(barcode, entry, bulk);
    }

    private void Remove(Guid productId)
    {
        if (!_byId.Remove(productId, out var entry))
            return;
        _names.Remove(entry.Key, entry);
        foreach (var sku in entry.Skus)
            _skus.Remove(sku, entry);
        foreach (var barcode in entry.Barcodes)
            _barcodes.Remove(barcode, entry);
    }

    private static Entry ToEntry(CatalogSearchEntry p) => new(p.ProductId, p.Name, SearchKey.Of(p.Name), p.Active,
        p.Skus.Select(s => s.ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToArray(), p.Barcodes.Distinct(StringComparer.Ordinal).ToArray());

    private static void Insert<T>(List<T> sorted, T item, IComparer<T> order)
    {
        var at = sorted.BinarySearch(item, order);
        sorted.Insert(at < 0 ? ~at : at, item);
    }

    private static void Delete<T>(List<T> sorted, T item, IComparer<T> order)
    {
        var at = sorted.BinarySearch(item, order);
        if (at >= 0)
            sorted.RemoveAt(at);
    }

    /// <summary>
    /// Customers by name key (exact, prefix, substring), email (exact, prefix) and phone (exact
    /// by value, digits anywhere), each a <see cref="TextIndex{T}"/> in name order.
    /// </summary>
    private sealed class CustomerNames : SortedNames<CustomerHit>
    {
        private readonly TextIndex<NamedEntry<CustomerHit>> _emails = new(Order, inner: false);
        private readonly TextIndex<NamedEntry<CustomerHit>> _phones = new(Order, inner: true);
        private readonly Dictionary<string, NamedEntry<CustomerHit>> _byPhone = new(StringComparer.Ordinal);

        protected override void Indexed(NamedEntry<CustomerHit> entry, bool bulk)
        {
            if (entry.Hit.Phone is { } phone)
            {
                _phones.Add(phone, entry, bulk);
                _byPhone[phone] = entry;
            }
            if (entry.Hit.Email is { } email)
                _emails.Add(email, entry, bulk);
        }

        protected override void Unindexed(NamedEntry<CustomerHit> entry)
        {
            if (entry.Hit.Phone is { } phone)
            {
                _phones.Remove(phone, entry);
                if (_byPhone.GetValueOrDefault(phone) == entry)
                    _byPhone.Remove(phone);
            }
            if (entry.Hit.Email is { } email)
                _emails.Remove(email, entry);
        }

        protected override void Sorted()
        {
            _emails.Sort();
            _phones.Sort();
        }

        /// <summary>
        /// The rule of <see cref="CustomerMatch"/>, by tiers: exact name, email or phone (0), name
        /// prefix (1), then name substring, email prefix or phone digits (2); ties by name.
        /// </summary>
        public override IReadOnlyList<CustomerHit> Search(string query, int limit)
        {
            var key = SearchKey.Of(query.Trim());
            if (key.Length < 2)
            {
                var match = new CustomerMatch(query);
                return Search(limit, e => match.Rank(e.Key, e.Hit.Email, e.Hit.Phone));
            }
            var page = new RankedPage<NamedEntry<CustomerHit>>(Order, limit);
            Names.Exact(key, page, 0);
            _emails.Exact(key, page, 0);
            var digits = SearchKey.PhoneDigits(query);
            if (digits is not null && _byPhone.TryGetValue("+" + digits, out var exact))
                page.Offer(exact, 0, null);
            Names.Prefixed(key, page, 1);
            Names.Inner(key, page, 2);
            _emails.Prefixed(key, page, 2);
            if (digits is not null)
            {
                _phones.Prefixed(digits, page, 2);
                _phones.Inner(digits, page, 2);
            }
            return page.Best().Select(h => h.Item.Hit).ToArray();
        }
    }

    /// <summary>
    /// Named entries (customers, stores) in name order, with their search keys in a
    /// <see cref="TextIndex{T}"/>: exact (0), prefix (1), substring (2), ties by name.
    /// </summary>
    private class SortedNames<T>
    {
        protected static readonly Comparer<NamedEntry<T>> Order = Comparer<NamedEntry<T>>.Create((a, b) =>
            string.CompareOrdinal(a.Name, b.Name) is var c and not 0 ? c : a.Id.CompareTo(b.Id));

        private readonly List<NamedEntry<T>> _byName = [];
        private readonly Dictionary<Guid, NamedEntry<T>> _byId = [];
        protected readonly TextIndex<NamedEntry<T>> Names = new(Order, inner: true);

        public void Load(Guid id, string name, T hit)
        {
            var entry = new NamedEntry<T>(hit, id, name, SearchKey.Of(name));
            _byName.Add(entry);
            _byId[id] = entry;
        }

        /// <summary>After the loads: sorts, then indexes every entry in name order (gram lists built in order).</summary>
        public void Sort()
        {
            _byName.Sort(Order);
            foreach (var entry in _byName)
            {
                Names.Add(entry.Key, entry, bulk: true);
                Indexed(entry, bulk: true);
            }
            Names.Sort();
            Sorted();
        }

        public void Put(Guid id, string name, T hit)
        {
            Remove(id);
            var entry = new NamedEntry<T>(hit, id, name, SearchKey.Of(name));
            _byId[id] = entry;
            Insert(_byName, entry, Order);
            Names.Add(entry.Key, entry);
            Indexed(entry, bulk: false);
        }

        public void Remove(Guid id)
        {
            if (!_byId.Remove(id, out var entry))
                return;
            Delete(_byName, entry, Order);
            Names.Remove(entry.Key, entry);
            Unindexed(entry);
        }

        protected virtual void Indexed(NamedEntry<T> entry, bool bulk) { }

        protected virtual void Unindexed(NamedEntry<T> entry) { }

        protected virtual void Sorted() { }

        public virtual IReadOnlyList<T> Search(string query, int limit)
        {
            var key = SearchKey.Of(query.Trim());
            if (key.Length < 2)
                return Search(limit, e => !e.Key.Contains(key, StringComparison.Ordinal) ? -1
                    : e.Key == key ? 0 : e.Key.StartsWith(key, StringComparison.Ordinal) ? 1 : 2);
            var page = new RankedPage<NamedEntry<T>>(Order, limit);
            Names.Exact(key, page, 0);
            Names.Prefixed(key, page, 1);
            Names.Inner(key, page, 2);
            return page.Best().Select(h => h.Item.Hit).ToArray();
        }

        /// <summary>
        /// Queries under 2 characters (not sent by the API, which asks for 2): one pass in name
        /// order, the first <paramref name="limit"/> of each rank (0, 1, 2), then ranks in order.
        /// </summary>
        protected IReadOnlyList<T> Search(int limit, Func<NamedEntry<T>, int> rank)
        {
            var ranks = new[] { new List<T>(), new List<T>(), new List<T>() };
            foreach (var entry in _byName)
            {
                var r = rank(entry);
                if (r < 0 || ranks[r].Count >= limit)
                    continue;
                ranks[r].Add(entry.Hit);
                if (r == 0 && ranks[0].Count == limit)
                    break;
            }
            return ranks.SelectMany(r => r).Take(limit).ToArray();
        }
    }
}
