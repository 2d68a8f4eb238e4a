using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Catalog;
using JowiShop.Grains.Sales;
using Xunit;

namespace JowiShop.Tests.Unit;

/// <summary>
/// The tenant's catalog change log and a store's price cache, without grains: the cache drops exactly
/// what changed after its cursor, and everything when the log no longer covers the cursor or the
/// cursor belongs to another tenant-grain activation; a read that raced a change is not kept.
/// </summary>
public sealed class CatalogPriceCacheTests
{
    private static readonly CatalogPrice Ten = new(10m, 5m, VariantUnit.Piece, true);

    [Fact]
    public void The_log_names_the_variants_changed_after_a_cursor_of_its_own_epoch()
    {
        var log = new CatalogChangeLog(capacity: 4);
        var (a, b, c) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var start = log.Cursor;
        Assert.Empty(log.Since(start).Changed!);

        var afterA = log.Record([a]);
        log.Record([b, a]);
        Assert.Equal(3, log.Position);
        Assert.Equal(new[] { a, b }.Order(), log.Since(start).Changed!.Order());
        Assert.Equal(new[] { b, a }.Order(), log.Since(afterA).Changed!.Order());
        Assert.Equal(log.Cursor, log.Since(afterA).Cursor);

        // Another activation's cursor, a cursor from the future, and one the log has wrapped past: everything.
        Assert.Null(log.Since(new CatalogCursor(Guid.NewGuid(), 1)).Changed);
        Assert.Null(log.Since(new CatalogCursor(log.Epoch, 99)).Changed);
        log.Record([c, c]); // positions 4 and 5: position 0 (the start) is no longer covered
        Assert.Null(log.Since(start).Changed);
        Assert.Equal(new[] { b, a, c }.Order(), log.Since(afterA).Changed!.Order());
        Assert.NotEqual(new CatalogChangeLog().Epoch, log.Epoch);
    }

    [Fact]
    public void The_cache_drops_exactly_the_changed_variants_or_everything()
    {
        var log = new CatalogChangeLog(capacity: 8);
        var prices = new StorePrices();
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        prices.Apply(log.Since(prices.Cursor)); // a fresh cache has no cursor of this epoch: nothing to drop anyway
        prices.Add(new Dictionary<Guid, CatalogPrice> { [a] = Ten, [b] = Ten }, prices.Cursor);
        Assert.Equal(2, prices.Count);
        var unseen = Guid.NewGuid();
        Assert.Empty(prices.Missing([a, b, a]));
        Assert.Equal(new[] { unseen }, prices.Missing([a, unseen, b, unseen]));

        log.Record([a]);
        prices.Apply(log.Since(prices.Cursor));
        Assert.False(prices.TryGet(a, out _));
        Assert.True(prices.TryGet(b, out var kept) && kept == Ten);
        Assert.Equal(log.Cursor, prices.Cursor);

        // The tenant grain reactivated: a new epoch, whatever its position.
        var successor = new CatalogChangeLog(capacity: 8);
        prices.Apply(successor.Since(prices.Cursor));
        Assert.Equal(0, prices.Count);
        Assert.Equal(successor.Cursor, prices.Cursor);
    }

    [Fact]
    public void A_read_that_began_before_the_cursor_moved_is_not_kept()
    {
        var log = new CatalogChangeLog();
        var prices = new StorePrices();
        var a = Guid.NewGuid();
        prices.Apply(log.Since(prices.Cursor));
        var readAt = prices.Cursor;
        // While the read was under way, a change to the variant was recorded and applied (dropped).
        log.Record([a]);
        prices.Apply(log.Since(prices.Cursor));
        prices.Add(new Dictionary<Guid, CatalogPrice> { [a] = Ten }, readAt);
        Assert.False(prices.TryGet(a, out _));
        prices.Add(new Dictionary<Guid, CatalogPrice> { [a] = Ten }, prices.Cursor);
        Assert.True(prices.TryGet(a, out _));
    }

    [Fact]
    public void Past_its_bound_the_cache_starts_over()
    {
        var prices = new StorePrices(maxEntries: 3);
        prices.Add(Enumerable.Range(0, 3).ToDictionary(_ => Guid.NewGuid(), _ => Ten), prices.Cursor);
        Assert.Equal(3, prices.Count);
        var fresh = Enumerable.Range(0, 2).ToDictionary(_ => Guid.NewGuid(), _ => Ten);
        prices.Add(fresh, prices.Cursor);
        Assert.Equal(2, prices.Count);
        Assert.All(fresh.Keys, v => Assert.True(prices.TryGet(v, out _)));
    }
}
