using JowiShop.Grains.Search;
using Xunit;

namespace JowiShop.Tests.Unit;

/// <summary>
/// The search index's tiers against their definition (filter every text, order by item, take a
/// page) over random texts from a small alphabet, so prefixes, substrings and shared grams are
/// common, with items holding several texts, loaded in bulk and then changed one by one.
/// </summary>
public sealed class SearchTextIndexTests
{
    private sealed record Item(int Id, string[] Texts);

    private static readonly Comparer<Item> ById = Comparer<Item>.Create((a, b) => a.Id.CompareTo(b.Id));

    [Fact]
    public void Exact_prefix_and_inner_tiers_offer_the_first_page_in_item_order_as_filtering_everything_would()
    {
        var random = new Random(12);
        string Text() => new(Enumerable.Range(0, random.Next(1, 9)).Select(_ => "abcA'"[random.Next(5)]).ToArray());
        Item NewItem(int id) => new(id, Enumerable.Range(0, random.Next(1, 3)).Select(_ => Text()).Distinct().ToArray());

        var items = Enumerable.Range(0, 600).Select(NewItem).ToDictionary(i => i.Id);
        var index = new TextIndex<Item>(ById, inner: true);
        foreach (var item in items.Values.OrderBy(i => i.Id))
            foreach (var text in item.Texts)
                index.Add(text, item, bulk: true);
        index.Sort();

        for (var round = 0; round < 400; round++)
        {
            if (round % 4 == 0)
            {
                // A change: an item's texts replaced (a new item object, as the grain does), one gone, one new.
                var id = random.Next(700);
                if (items.Remove(id, out var old))
                    foreach (var text in old.Texts)
                        index.Remove(text, old);
                if (random.Next(3) > 0)
                {
                    var fresh = NewItem(id);
                    items[id] = fresh;
                    foreach (var text in fresh.Texts)
                        index.Add(text, fresh);
                }
            }
            var query = Text();
            var limit = random.Next(1, 12);
            Check(index, items.Values, query, limit, (i, q, p, r) => i.Exact(q, p, r), t => t == query);
            Check(index, items.Values, query, limit, (i, q, p, r) => i.Prefixed(q, p, r), t => t.StartsWith(query, StringComparison.Ordinal));
            Check(index, items.Values, query, limit, (i, q, p, r) => i.Inner(q, p, r), t => t.Length > 1 && t[1..].Contains(query, StringComparison.Ordinal));
        }
    }

    private static void Check(TextIndex<Item> index, IEnumerable<Item> items, string query, int limit,
        Func<TextIndex<Item>, string, RankedPage<Item>, int, int> tier, Func<string, bool> matches)
    {
        var expected = items.Where(i => i.Texts.Any(matches)).OrderBy(i => i.Id).Take(limit).Select(i => i.Id).ToArray();
        var page = new RankedPage<Item>(ById, limit);
        var offered = tier(index, query, page, 0);
        Assert.Equal(expected, page.Best().Select(h => h.Item.Id).ToArray());
        Assert.Equal(expected.Length, offered);
    }

    [Fact]
    public void A_page_keeps_each_item_once_at_its_best_rank_and_the_first_tier_to_offer_it()
    {
        var (a, b, c) = (new Item(1, []), new Item(2, []), new Item(3, []));
        var page = new RankedPage<Item>(ById, 2);
        page.Offer(c, 1, "name");
        page.Offer(b, 2, "name");
        page.Offer(c, 1, "sku");
        page.Offer(b, 0, "sku");
        page.Offer(a, 3, "name");
        Assert.Equal([(2, 0, "sku"), (3, 1, "name")], page.Best().Select(h => (h.Item.Id, h.Rank, h.Tag)));
    }
}
