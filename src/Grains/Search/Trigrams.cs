namespace JowiShop.Grains.Search;

/// <summary>
/// Substring candidates without walking everything: for each 3-character gram of an entry's key,
/// the entries holding it, kept in the caller's order (name order). Every entry whose key
/// contains a query of 3 or more characters holds each of the query's grams, so the rarest
/// gram's list is a superset of the matches, in order; the caller still checks each one.
/// </summary>
internal sealed class Trigrams<T>(IComparer<T> order)
{
    private readonly Dictionary<string, List<T>> _postings = new(StringComparer.Ordinal);

    /// <summary>Adds an entry; with <paramref name="inOrder"/> false (a bulk load), call <see cref="Sort"/> after.</summary>
    public void Add(string key, T entry, bool inOrder = true)
    {
        foreach (var gram in Grams(key))
        {
            if (!_postings.TryGetValue(gram, out var list))
                _postings[gram] = list = [];
            if (!inOrder)
                list.Add(entry);
            else if (list.BinarySearch(entry, order) is var at && at < 0)
                list.Insert(~at, entry);
        }
    }

    public void Remove(string key, T entry)
    {
        foreach (var gram in Grams(key))
            if (_postings.TryGetValue(gram, out var list) && list.BinarySearch(entry, order) is var at and >= 0)
                list.RemoveAt(at);
    }

    public void Sort()
    {
        foreach (var list in _postings.Values)
            list.Sort(order);
    }

    /// <summary>The entries that may contain the query, in order; null when the query is shorter than a gram.</summary>
    public IReadOnlyList<T>? Candidates(string query)
    {
        if (query.Length < 3)
            return null;
        List<T>? rarest = null;
        foreach (var gram in Grams(query))
        {
            if (!_postings.TryGetValue(gram, out var list))
                return [];
            if (rarest is null || list.Count < rarest.Count)
                rarest = list;
        }
        return rarest;
    }

    private static HashSet<string> Grams(string key)
    {
        var grams = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i + 3 <= key.Length; i++)
            grams.Add(key.Substring(i, 3));
        return grams;
    }
}
