using JowiShop.Grains.Sales;
using Xunit;

namespace JowiShop.Tests.Unit;

/// <summary>
/// The database no longer stores what is left of a batch (migration 0015): the stock_batches view
/// derives it as greatest(0, least(received, level - sum(received of newer batches))), newer by
/// the store's FIFO sequence. That holds only if every take is oldest batch first and a put into
/// negative stock makes good the deficit first, which is what StockState.Take and StoreBatch.Put
/// do: driven through random sequences, each batch's remainder must equal the formula.
/// </summary>
public sealed class FifoRemainderTests
{
    private static readonly Guid Store = Guid.NewGuid();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Every_batch_remainder_equals_the_level_formula_through_random_takes_and_puts(int seed)
    {
        var random = new Random(seed);
        var variants = new[] { Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid() };
        // What the database holds: each batch's received quantity by FIFO sequence, per variant.
        var received = variants.ToDictionary(v => v, _ => new SortedDictionary<long, decimal>());
        // The grain's committed stock, and where its ledger stands (the FIFO sequence among it).
        var committed = new Dictionary<Guid, StockState>();
        var position = new LedgerPosition(0, 0, 0, null, BatchSeq: random.Next(0, 1000));

        for (var commit = 0; commit < 200; commit++)
        {
            var batch = new StoreBatch(Store, position, committed.GetValueOrDefault);
            for (var op = random.Next(1, 6); op > 0; op--)
            {
                var variant = variants[random.Next(variants.Length)];
                var quantity = random.Next(0, 3) == 0 ? random.Next(1, 40_000) / 1000m : random.Next(1, 30);
                switch (random.Next(5))
                {
                    case 0 or 1:
                        batch.Take(variant, quantity, 10m, "sale", Guid.NewGuid(), null, DateTimeOffset.UtcNow);
                        break;
                    case 2:
                        batch.Take(variant, quantity, 10m, random.Next(2) == 0 ? "adjustment" : "transfer_out", null, null, DateTimeOffset.UtcNow, []);
                        break;
                    default:
                        batch.Put(variant, quantity, random.Next(0, 500), "receiving", "receiving", null, null, DateTimeOffset.UtcNow);
                        break;
                }
                foreach (var created in batch.NewBatches.Where(n => !received[n.VariantId].ContainsKey(n.Batch.Seq)))
                    received[created.VariantId].Add(created.Batch.Seq, created.Received);
                foreach (var (v, state) in batch.Stock)
                    AssertRemaindersFollowTheLevel(state, received[v]);
            }

            // Sales are not journaled (their movements are the receipt lines); every other change is.
            Assert.DoesNotContain(batch.Movements, m => m.Kind == "sale");
            // The commit lands: memory follows, as StoreGrain.Apply does (exhausted batches leave).
            position = batch.To;
            foreach (var (variant, state) in batch.Stock)
            {
                state.Batches.RemoveAll(b => b.Remaining == 0);
                committed[variant] = state;
            }
        }

        // FIFO sequences are unique and increasing in the order the batches were put.
        var all = received.Values.SelectMany(r => r.Keys).ToArray();
        Assert.Equal(all.Length, all.Distinct().Count());
        Assert.Equal(position.BatchSeq, all.Max());
    }

    [Fact]
    public void A_put_into_negative_stock_makes_good_the_deficit_first()
    {
        var variant = Guid.NewGuid();
        var batch = new StoreBatch(Store, new LedgerPosition(0, 0, 0, null), _ => null);
        batch.Put(variant, 5m, 100m, "receiving", "receiving", null, null, DateTimeOffset.UtcNow);
        batch.Take(variant, 8m, null, "sale", Guid.NewGuid(), null, DateTimeOffset.UtcNow);
        batch.Put(variant, 2m, 200m, "receiving", "receiving", null, null, DateTimeOffset.UtcNow);
        batch.Put(variant, 10m, 300m, "receiving", "receiving", null, null, DateTimeOffset.UtcNow);

        var state = batch.Stock[variant];
        Assert.Equal(9m, state.Quantity);
        Assert.Equal([0m, 0m, 9m], state.Batches.Select(b => b.Remaining));
        Assert.Equal([1L, 2L, 3L], state.Batches.Select(b => b.Seq));
        AssertRemaindersFollowTheLevel(state, new SortedDictionary<long, decimal> { [1] = 5m, [2] = 2m, [3] = 10m });
    }

    [Fact]
    public void A_level_is_inserted_once_then_updated_by_the_commits_after_it()
    {
        var variant = Guid.NewGuid();
        var first = new StoreBatch(Store, new LedgerPosition(0, 0, 0, null), _ => new StockState());
        first.Take(variant, 1m, 5m, "sale", Guid.NewGuid(), null, DateTimeOffset.UtcNow);
        // The next batch continues from the first one's stock before it has committed.
        var second = new StoreBatch(Store, first.To, v => first.Stock.GetValueOrDefault(v));
        second.Take(variant, 1m, 5m, "sale", Guid.NewGuid(), null, DateTimeOffset.UtcNow);

        Assert.True(first.ToCommit(Guid.Empty).Levels.Single().IsNew);
        Assert.False(second.ToCommit(Guid.Empty).Levels.Single().IsNew);
        Assert.Equal(-2m, second.ToCommit(Guid.Empty).Levels.Single().Quantity);
    }

    /// <summary>The stock_batches view's formula, over every batch ever received (exhausted ones are gone from memory: 0).</summary>
    private static void AssertRemaindersFollowTheLevel(StockState state, SortedDictionary<long, decimal> received)
    {
        var inMemory = state.Batches.ToDictionary(b => b.Seq, b => b.Remaining);
        decimal newer = 0;
        foreach (var (seq, quantity) in received.Reverse())
        {
            var expected = Math.Max(0m, Math.Min(quantity, state.Quantity - newer));
            Assert.True(expected == inMemory.GetValueOrDefault(seq),
                $"batch {seq}: {inMemory.GetValueOrDefault(seq)} left in memory, the formula says {expected} (level {state.Quantity})");
            newer += quantity;
        }
        // Batches in memory are in FIFO order: the order Take draws them in is the sequence's.
        Assert.Equal(state.Batches.Select(b => b.Seq).Order(), state.Batches.Select(b => b.Seq));
    }
}
