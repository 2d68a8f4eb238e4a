namespace JowiShop.Grains.Search;

/// <summary>
/// Texts (search keys, SKUs, barcodes, emails, phones) of items kept in one order (the page
/// order: name, then id), answering "the first N items in that order whose text equals /
/// starts with / contains the query" without touching every match:
/// <list type="bullet">
/// <item>all postings sorted by (text, item): equal texts and prefixes are ranges found by binary
/// search, so their size is known up front, and the equal ones are already in item order;</item>
/// <item>per 2- and 3-character gram at a text's start, the postings holding it in item order: a
/// prefix query walks the list of its first gram and stops when the page is full;</item>
/// <item>per gram at positions 1 and on (when <c>inner</c>), the same: a substring query walks the
/// smallest list of its grams (every text containing the query at position ≥ 1 is in each of
/// them), checking each text, and stops when the page is full.</item>
/// </list>
/// A prefix walk that touches more postings than the prefix range holds gives up and ranks the
/// range instead, so a prefix costs at most twice the smaller of the two. 16 bytes per posting
/// (text and item references); a text of length n has 2 start postings and about 2n inner ones.
/// </summary>
internal sealed class TextIndex<T>(IComparer<T> order, bool inner) where T : class
{
    private readonly record struct Posting(string Text, T Item);

    private readonly List<Posting> _byText = [];
    private readonly Dictionary<string, List<Posting>> _starts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Posting>> _inner = new(StringComparer.Ordinal);

    private int CompareByText(Posting a, Posting b) =>
        string.CompareOrdinal(a.Text, b.Text) is var c and not 0 ? c : order.Compare(a.Item, b.Item);

    /// <summary>
    /// Adds a text of an item. With <paramref name="bulk"/> (a load), items must come in item
    /// order and <see cref="Sort"/> be called after the last.
    /// </summary>
    public void Add(string text, T item, bool bulk = false)
    {
        var posting = new Posting(text, item);
        if (bulk)
            _byText.Add(posting);
        else
        {
            var at = BinarySearch(_byText, posting);
            _byText.Insert(at < 0 ? ~at : at, posting);
        }
        for (var n = 2; n <= 3 && n <= text.Length; n++)
        {
            AddTo(_starts, text.AsSpan(0, n), posting, bulk);
            if (inner)
                for (var i = 1; i + n <= text.Length; i++)
                    AddTo(_inner, text.AsSpan(i, n), posting, bulk);
        }
    }

    /// <summary>A posting in a gram's list, once per text (a gram may repeat within a text).</summary>
    private void AddTo(Dictionary<string, List<Posting>> lists, ReadOnlySpan<char> gram, Posting posting, bool bulk)
    {
        var byGram = lists.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!byGram.TryGetValue(gram, out var list))
            byGram[gram] = list = [];
        var at = bulk ? list.Count : UpperBound(list, posting.Item);
        if (at > 0 && ReferenceEquals(list[at - 1].Item, posting.Item) && list[at - 1].Text == posting.Text)
            return;
        list.Insert(at, posting);
    }

    public void Remove(string text, T item)
    {
        var at = BinarySearch(_byText, new Posting(text, item));
        if (at >= 0)
            _byText.RemoveAt(at);
        for (var n = 2; n <= 3 && n <= text.Length; n++)
        {
            RemoveFrom(_starts, text.AsSpan(0, n), text, item);
            if (inner)
                for (var i = 1; i + n <= text.Length; i++)
                    RemoveFrom(_inner, text.AsSpan(i, n), text, item);
        }
    }

    private void RemoveFrom(Dictionary<string, List<Posting>> lists, ReadOnlySpan<char> gram, string text, T item)
    {
        if (!lists.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(gram, out var list))
            return;
        for (var i = LowerBound(list, item); i < list.Count && order.Compare(list[i].Item, item) == 0; i++)
            if (ReferenceEquals(list[i].Item, item) && list[i].Text == text)
            {
                list.RemoveAt(i);
                return; // a gram repeated within the text was one posting
            }
    }

    /// <summary>After a bulk load: gram lists are already in item order; the text order is made here.</summary>
    public void Sort() => _byText.Sort(CompareByText);

    /// <summary>Offers the first items (up to the page's limit) whose text is the query; returns how many.</summary>
    public int Exact(string query, RankedPage<T> page, int rank, string? tag = null)
    {
        var (low, high) = PrefixRange(query);
        var end = low;
        while (end < high && _byText[end].Text.Length == query.Length)
            end++; // the equal texts open the prefix range, in item order
        var found = 0;
        T? last = null;
        for (var i = low; i < end && found < page.Limit; i++)
            if (!ReferenceEquals(_byText[i].Item, last))
            {
                page.Offer(last = _byText[i].Item, rank, tag);
                found++;
            }
        return found;
    }

    /// <summary>Offers the first items (up to the page's limit) in item order whose text starts with the query; returns how many.</summary>
    public int Prefixed(string query, RankedPage<T> page, int rank, string? tag = null)
    {
        var (low, high) = PrefixRange(query);
        if (low == high)
            return 0;
        // The range is in text order: ranking it costs its size. Walking the query's start-gram
        // list (in item order) costs about limit × list / range; take the walk when the range is
        // larger than a few pages, and give up on it once it has cost as much as the range.
        if (high - low > 2 * page.Limit && query.Length >= 2 && _starts.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(query.AsSpan(0, Math.Min(3, query.Length)), out var list))
        {
            var walked = new List<T>(page.Limit);
            var budget = high - low;
            foreach (var posting in list)
            {
                if (--budget < 0)
                    break;
                if (!posting.Text.StartsWith(query, StringComparison.Ordinal) || walked.Count > 0 && ReferenceEquals(walked[^1], posting.Item))
                    continue;
                walked.Add(posting.Item);
                if (walked.Count == page.Limit)
                    break;
            }
            if (walked.Count == page.Limit || budget >= 0)
            {
                foreach (var item in walked)
                    page.Offer(item, rank, tag);
                return walked.Count;
            }
        }
        return OfferFirst(low, high, page, rank, tag);
    }

    /// <summary>
    /// Offers the first items (up to the page's limit) in item order whose text contains the
    /// query at position 1 or later; returns how many. Queries under 2 characters rank every text.
    /// </summary>
    public int Inner(string query, RankedPage<T> page, int rank, string? tag = null)
    {
        if (!inner)
            throw new InvalidOperationException("this index keeps no inner grams");
        if (query.Length < 2)
            return OfferFirst(0, _byText.Count, page, rank, tag, p => p.Text.AsSpan(1).Contains(query, StringComparison.Ordinal));
        var byGram = _inner.GetAlternateLookup<ReadOnlySpan<char>>();
        List<Posting>? smallest = null;
        var gram = Math.Min(3, query.Length);
        for (var i = 0; i + gram <= query.Length; i++)
        {
            if (!byGram.TryGetValue(query.AsSpan(i, gram), out var list))
                return 0;
            if (smallest is null || list.Count < smallest.Count)
                smallest = list;
        }
        var found = 0;
        T? last = null;
        foreach (var posting in smallest!)
        {
            if (ReferenceEquals(posting.Item, last) || !posting.Text.AsSpan(1).Contains(query, StringComparison.Ordinal))
                continue;
            page.Offer(last = posting.Item, rank, tag);
            if (++found == page.Limit)
                break;
        }
        return found;
    }

    /// <summary>The first items in item order among postings [low, high) (text order), distinct, up to the page's limit.</summary>
    private int OfferFirst(int low, int high, RankedPage<T> page, int rank, string? tag, Func<Posting, bool>? where = null)
    {
        var top = new List<T>(page.Limit + 1);
        for (var i = low; i < high; i++)
        {
            var item = _byText[i].Item;
            if (top.Count == page.Limit && order.Compare(item, top[^1]) >= 0 || where is not null && !where(_byText[i]))
                continue;
            var at = top.BinarySearch(item, order);
            if (at >= 0)
                continue; // another text of an item already there
            top.Insert(~at, item);
            if (top.Count > page.Limit)
                top.RemoveAt(page.Limit);
        }
        foreach (var item in top)
            page.Offer(item, rank, tag);
        return top.Count;
    }

    /// <summary>The postings whose text starts with the prefix: [low, high) in text order.</summary>
    private (int Low, int High) PrefixRange(string prefix)
    {
        int low = 0, high = _byText.Count;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (string.CompareOrdinal(_byText[mid].Text, prefix) < 0)
                low = mid + 1;
            else
                high = mid;
        }
        int start = low, end = _byText.Count;
        while (low < end)
        {
            var mid = (low + end) >>> 1;
            if (string.CompareOrdinal(_byText[mid].Text, 0, prefix, 0, prefix.Length) <= 0)
                low = mid + 1;
            else
                end = mid;
        }
        return (start, low);
    }

    private int BinarySearch(List<Posting> sorted, Posting posting)
    {
        int low = 0, high = sorted.Count - 1;
        while (low <= high)
        {
            var mid = (low + high) >>> 1;
            var c = CompareByText(sorted[mid], posting);
            if (c == 0)
                return mid;
            if (c < 0)
                low = mid + 1;
            else
                high = mid - 1;
        }
        return ~low;
    }

    /// <summary>The first posting of the item (or where it would go) in a list in item order.</summary>
    private int LowerBound(List<Posting> list, T item)
    {
        int low = 0, high = list.Count;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (order.Compare(list[mid].Item, item) < 0)
                low = mid + 1;
            else
                high = mid;
        }
        return low;
    }

    private int UpperBound(List<Posting> list, T item)
    {
        int low = 0, high = list.Count;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (order.Compare(list[mid].Item, item) <= 0)
                low = mid + 1;
            else
                high = mid;
        }
        return low;
    }
}

/// <summary>
/// A page being filled from several tiers: each item once, at the best (lowest) rank offered
/// for it (the first tier to offer that rank names how it matched), then ordered by (rank, item
/// order). Exact when each tier offers at least its own first <see cref="Limit"/> items by (rank,
/// item order): every item of the true page is then offered at its best rank, and any other
/// item offered ranks after all of them.
/// </summary>
internal sealed class RankedPage<T>(IComparer<T> order, int limit) where T : class
{
    private readonly List<(T Item, int Rank, string? Tag)> _offered = [];
    private readonly Dictionary<T, int> _at = new(ReferenceEqualityComparer.Instance);

    public int Limit => limit;

    public void Offer(T item, int rank, string? tag)
    {
        if (_at.TryGetValue(item, out var at))
        {
            if (rank < _offered[at].Rank)
                _offered[at] = (item, rank, tag);
            return;
        }
        _at[item] = _offered.Count;
        _offered.Add((item, rank, tag));
    }

    public List<(T Item, int Rank, string? Tag)> Best()
    {
        _offered.Sort((a, b) => a.Rank != b.Rank ? a.Rank.CompareTo(b.Rank) : order.Compare(a.Item, b.Item));
        if (_offered.Count > limit)
            _offered.RemoveRange(limit, _offered.Count - limit);
        return _offered;
    }
}
