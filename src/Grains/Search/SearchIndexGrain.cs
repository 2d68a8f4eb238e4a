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
/// entry after each committed change and before answering. For products, sorted lists give exact
/// and prefix matches by binary search, and other name matches are found walking the names in
/// order, stopping once the page is full; customers and stores are walked in name order.
/// </summary>
[Reentrant]
public sealed class SearchIndexGrain(NpgsqlDataSource db) : Grain, ISearchIndexGrain
{
    private sealed record Entry(Guid Id, string Name, string Key, bool Active, string[] Skus, string[] Barcodes);

    private sealed record NamedEntry<T>(T Hit, Guid Id, string Name, string Key);

    private readonly record struct Value(string Text, Entry Entry);

    private static readonly Comparer<Entry> ByName = Comparer<Entry>.Create((a, b) =>
        string.CompareOrdinal(a.Name, b.Name) is var c and not 0 ? c : a.Id.CompareTo(b.Id));
    private static readonly Comparer<Entry> ByKey = Comparer<Entry>.Create((a, b) =>
        string.CompareOrdinal(a.Key, b.Key) is var c and not 0 ? c : a.Id.CompareTo(b.Id));
    private static readonly Comparer<Value> ByText = Comparer<Value>.Create((a, b) =>
        string.CompareOrdinal(a.Text, b.Text) is var c and not 0 ? c : a.Entry.Id.CompareTo(b.Entry.Id));

    private readonly Dictionary<Guid, Entry> _byId = [];
    private readonly List<Entry> _byName = [];
    private readonly List<Entry> _byKey = [];
    private readonly List<Value> _skus = []; // lower-cased
    private readonly List<Value> _barcodes = [];
    private readonly Trigrams<Entry> _nameGrams = new(ByName);
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

        foreach (var (id, p) in products)
        {
            var entry = ToEntry(new CatalogSearchEntry(id, p.Name, p.Active, p.Skus, p.Barcodes));
            _byId[id] = entry;
            _byName.Add(entry);
            _byKey.Add(entry);
            _nameGrams.Add(entry.Key, entry, inOrder: false);
            _skus.AddRange(entry.Skus.Select(s => new Value(s, entry)));
            _barcodes.AddRange(entry.Barcodes.Select(b => new Value(b, entry)));
        }
        _byName.Sort(ByName);
        _byKey.Sort(ByKey);
        _nameGrams.Sort();
        _skus.Sort(ByText);
        _barcodes.Sort(ByText);
    }

    public Task<SearchResults> SearchAsync(string query, int limit)
    {
        var storeKey = SearchKey.Of(query.Trim());
        return Task.FromResult(new SearchResults(
            SearchProducts(query, limit),
            _customers.Search(query, limit),
            _stores.Search(limit, e => !e.Key.Contains(storeKey, StringComparison.Ordinal) ? -1
                : e.Key == storeKey ? 0 : e.Key.StartsWith(storeKey, StringComparison.Ordinal) ? 1 : 2)));
    }

    private IReadOnlyList<ProductHit> SearchProducts(string query, int limit)
    {
        var literal = query.Trim();
        var key = SearchKey.Of(literal);
        var best = new Dictionary<Guid, (int Rank, string MatchedBy, Entry Entry)>();
        void Offer(List<(Entry Entry, int Rank)> top, string matchedBy)
        {
            foreach (var (entry, rank) in top)
                if (!best.TryGetValue(entry.Id, out var held) || rank < held.Rank)
                    best[entry.Id] = (rank, matchedBy, entry);
        }

        // Names: exact (0) and prefix (1) by binary search; other substrings (3) in name order,
        // only as many as the page still needs.
        var prefixed = Top(Range(_byKey, key, e => e.Key).Select(e => (e, e.Key.Length == key.Length ? 0 : 1)), limit, ByName);
        Offer(prefixed, "name");
        if (prefixed.Count < limit)
            Offer((_nameGrams.Candidates(key) ?? _byName)
                .Where(e => e.Key.Contains(key, StringComparison.Ordinal) && !e.Key.StartsWith(key, StringComparison.Ordinal))
                .Take(limit - prefixed.Count).Select(e => (e, 3)).ToList(), "name");
        Offer(Top(BestPerProduct(Range(_skus, key, v => v.Text).Select(v => (v.Entry, v.Text.Length == key.Length ? 0 : 2))), limit, ByName), "sku");
        Offer(Top(BestPerProduct(Range(_barcodes, literal, v => v.Text).Select(v => (v.Entry, v.Text.Length == literal.Length ? 0 : 2))), limit, ByName), "barcode");

        return best.Values
            .OrderBy(h => h.Rank).ThenBy(h => h.Entry.Name, StringComparer.Ordinal).ThenBy(h => h.Entry.Id).Take(limit)
            .Select(h => new ProductHit(h.Entry.Id, h.Entry.Name, h.Entry.Active, h.MatchedBy)).ToArray();
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
        Insert(_byName, entry, ByName);
        Insert(_byKey, entry, ByKey);
        _nameGrams.Add(entry.Key, entry);
        foreach (var sku in entry.Skus)
            Insert(_skus, new Value(sku, entry), ByText);
        foreach (var barcode in entry.Barcodes)
            Insert(_barcodes, new Value(barcode, entry), ByText);
        return Task.CompletedTask;
    }

    public Task RemoveProductAsync(Guid productId)
    {
        Remove(productId);
        return Task.CompletedTask;
    }

    private void Remove(Guid productId)
    {
        if (!_byId.Remove(productId, out var entry))
            return;
        Delete(_byName, entry, ByName);
        Delete(_byKey, entry, ByKey);
        _nameGrams.Remove(entry.Key, entry);
        foreach (var sku in entry.Skus)
            Delete(_skus, new Value(sku, entry), ByText);
        foreach (var barcode in entry.Barcodes)
            Delete(_barcodes, new Value(barcode, entry), ByText);
    }

    private static Entry ToEntry(CatalogSearchEntry p) => new(p.ProductId, p.Name, SearchKey.Of(p.Name), p.Active,
        p.Skus.Select(s => s.ToLowerInvariant()).ToArray(), p.Barcodes.ToArray());

    /// <summary>
    /// The first <paramref name="limit"/> matches by (rank, then <paramref name="order"/>), kept in
    /// a bounded sorted list as the matches stream by (a common prefix matches thousands of names;
    /// only a page of them is wanted). Each entry should appear once: see <see cref="BestPerProduct"/>.
    /// </summary>
    private static List<(T Entry, int Rank)> Top<T>(IEnumerable<(T Entry, int Rank)> matches, int limit, IComparer<T> order)
    {
        var byRank = Comparer<(T Entry, int Rank)>.Create((a, b) => a.Rank != b.Rank ? a.Rank.CompareTo(b.Rank) : order.Compare(a.Entry, b.Entry));
        var top = new List<(T Entry, int Rank)>(limit + 1);
        foreach (var match in matches)
        {
            if (top.Count == limit && byRank.Compare(match, top[^1]) >= 0)
                continue;
            Insert(top, match, byRank);
            if (top.Count > limit)
                top.RemoveAt(limit);
        }
        return top;
    }

    /// <summary>Each product once, at its best rank (several of its SKUs or barcodes may match).</summary>
    private static IEnumerable<(Entry Entry, int Rank)> BestPerProduct(IEnumerable<(Entry Entry, int Rank)> matches)
    {
        var byProduct = new Dictionary<Guid, (Entry Entry, int Rank)>();
        foreach (var match in matches)
            if (!byProduct.TryGetValue(match.Entry.Id, out var held) || match.Rank < held.Rank)
                byProduct[match.Entry.Id] = match;
        return byProduct.Values;
    }

    /// <summary>The items of a list sorted by text whose text starts with the prefix.</summary>
    private static IEnumerable<T> Range<T>(List<T> sorted, string prefix, Func<T, string> text)
    {
        int low = 0, high = sorted.Count;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (string.CompareOrdinal(text(sorted[mid]), prefix) < 0)
                low = mid + 1;
            else
                high = mid;
        }
        for (var i = low; i < sorted.Count && text(sorted[i]).StartsWith(prefix, StringComparison.Ordinal); i++)
            yield return sorted[i];
    }

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
    /// Customers in name order, with their search keys sorted (exact and prefix matches by binary
    /// search), trigram lists of names and phones (other substring matches, walked in name order
    /// and stopped once the page is full), emails sorted (prefix ranges) and phones by value. A
    /// query under 3 characters ranks every customer.
    /// </summary>
    private sealed class CustomerNames : SortedNames<CustomerHit>
    {
        private static readonly Comparer<NamedEntry<CustomerHit>> ByKey = Comparer<NamedEntry<CustomerHit>>.Create((a, b) =>
            string.CompareOrdinal(a.Key, b.Key) is var c and not 0 ? c : Order.Compare(a, b));
        private static readonly Comparer<(string Email, NamedEntry<CustomerHit> Entry)> ByEmail =
            Comparer<(string Email, NamedEntry<CustomerHit> Entry)>.Create((a, b) =>
                string.CompareOrdinal(a.Email, b.Email) is var c and not 0 ? c : Order.Compare(a.Entry, b.Entry));

        private readonly List<NamedEntry<CustomerHit>> _byKey = [];
        private readonly Trigrams<NamedEntry<CustomerHit>> _nameGrams = new(Order);
        private readonly Trigrams<NamedEntry<CustomerHit>> _phoneGrams = new(Order);
        private readonly List<(string Email, NamedEntry<CustomerHit> Entry)> _emails = [];
        private readonly Dictionary<string, NamedEntry<CustomerHit>> _byPhone = new(StringComparer.Ordinal);

        protected override void Indexed(NamedEntry<CustomerHit> entry, bool bulk)
        {
            if (bulk)
                _byKey.Add(entry);
            else
                Insert(_byKey, entry, ByKey);
            _nameGrams.Add(entry.Key, entry, inOrder: !bulk);
            if (entry.Hit.Phone is { } phone)
            {
                _phoneGrams.Add(phone, entry, inOrder: !bulk);
                _byPhone[phone] = entry;
            }
            if (entry.Hit.Email is { } email)
            {
                if (bulk)
                    _emails.Add((email, entry));
                else
                    Insert(_emails, (email, entry), ByEmail);
            }
        }

        protected override void Unindexed(NamedEntry<CustomerHit> entry)
        {
            Delete(_byKey, entry, ByKey);
            _nameGrams.Remove(entry.Key, entry);
            if (entry.Hit.Phone is { } phone)
            {
                _phoneGrams.Remove(phone, entry);
                if (_byPhone.GetValueOrDefault(phone) == entry)
                    _byPhone.Remove(phone);
            }
            if (entry.Hit.Email is { } email)
                Delete(_emails, (email, entry), ByEmail);
        }

        public override void Sort()
        {
            base.Sort();
            _byKey.Sort(ByKey);
            _nameGrams.Sort();
            _phoneGrams.Sort();
            _emails.Sort(ByEmail);
        }

        /// <summary>
        /// The rule of <see cref="CustomerMatch"/>, by tiers: each tier keeps its first
        /// <paramref name="limit"/> by (rank, name); a customer's rank is its best tier's.
        /// </summary>
        public IReadOnlyList<CustomerHit> Search(string query, int limit)
        {
            var key = SearchKey.Of(query.Trim());
            if (_nameGrams.Candidates(key) is not { } byName)
            {
                var match = new CustomerMatch(query);
                return Search(limit, e => match.Rank(e.Key, e.Hit.Email, e.Hit.Phone));
            }
            var digits = SearchKey.PhoneDigits(query);
            var best = new Dictionary<NamedEntry<CustomerHit>, int>();
            void Offer(IEnumerable<(NamedEntry<CustomerHit> Entry, int Rank)> tier)
            {
                foreach (var (entry, rank) in Top(tier, limit, Order))
                    if (!best.TryGetValue(entry, out var held) || rank < held)
                        best[entry] = rank;
            }

            Offer(Range(_byKey, key, e => e.Key).Select(e => (e, e.Key.Length == key.Length ? 0 : 1)));
            Offer(Range(_emails, key, e => e.Email).Select(e => (e.Entry, e.Email.Length == key.Length ? 0 : 2)));
            Offer(byName.Where(e => e.Key.Contains(key, StringComparison.Ordinal) && !e.Key.StartsWith(key, StringComparison.Ordinal))
                .Take(limit).Select(e => (e, 2)));
            if (digits is not null)
            {
                if (_byPhone.TryGetValue("+" + digits, out var exact))
                    Offer([(exact, 0)]);
                Offer((_phoneGrams.Candidates(digits) ?? []).Where(e => e.Hit.Phone!.Contains(digits, StringComparison.Ordinal))
                    .Take(limit).Select(e => (e, 2)));
            }
            return best.OrderBy(b => b.Value).ThenBy(b => b.Key, Order).Take(limit).Select(b => b.Key.Hit).ToArray();
        }
    }

    /// <summary>Named entries (customers, stores) in name order, with their search keys.</summary>
    private class SortedNames<T>
    {
        protected static readonly Comparer<NamedEntry<T>> Order = Comparer<NamedEntry<T>>.Create((a, b) =>
            string.CompareOrdinal(a.Name, b.Name) is var c and not 0 ? c : a.Id.CompareTo(b.Id));

        private readonly List<NamedEntry<T>> _byName = [];
        private readonly Dictionary<Guid, NamedEntry<T>> _byId = [];

        public void Load(Guid id, string name, T hit)
        {
            var entry = new NamedEntry<T>(hit, id, name, SearchKey.Of(name));
            _byName.Add(entry);
            _byId[id] = entry;
            Indexed(entry, bulk: true);
        }

        public virtual void Sort() => _byName.Sort(Order);

        public void Put(Guid id, string name, T hit)
        {
            Remove(id);
            var entry = new NamedEntry<T>(hit, id, name, SearchKey.Of(name));
            _byId[id] = entry;
            Insert(_byName, entry, Order);
            Indexed(entry, bulk: false);
        }

        public void Remove(Guid id)
        {
            if (!_byId.Remove(id, out var entry))
                return;
            Delete(_byName, entry, Order);
            Unindexed(entry);
        }

        protected virtual void Indexed(NamedEntry<T> entry, bool bulk) { }

        protected virtual void Unindexed(NamedEntry<T> entry) { }

        /// <summary>One pass in name order: the first <paramref name="limit"/> of each rank (0, 1, 2), then ranks in order.</summary>
        public IReadOnlyList<T> Search(int limit, Func<NamedEntry<T>, int> rank)
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
