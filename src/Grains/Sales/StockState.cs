namespace JowiShop.Grains.Sales;

/// <summary>A store's stock of one variant: its level and its open batches, oldest first.</summary>
public sealed class StockState
{
    public decimal Quantity { get; set; }
    /// <summary>
    /// The stock_levels row exists (loaded, or written by a commit this state continues from): the
    /// level is then an UPDATE, else an INSERT.
    /// </summary>
    public bool Stored { get; set; }
    /// <summary>Cost of the most recent batch: the cost of selling beyond what is on hand.</summary>
    public decimal? LastUnitCost { get; set; }
    public List<StockBatch> Batches { get; init; } = [];

    public StockState Clone() => new()
    {
        Quantity = Quantity,
        Stored = Stored,
        LastUnitCost = LastUnitCost,
        Batches = Batches.Select(b => new StockBatch(b.Id, b.UnitCost, b.Seq) { Remaining = b.Remaining }).ToList(),
    };

    /// <summary>
    /// Takes a quantity out, oldest batches first; what no batch covers is costed at the last
    /// known cost (or the catalog cost). Returns the cost of goods.
    /// </summary>
    public decimal Take(decimal quantity, decimal? catalogCost, Action<decimal, decimal>? lot = null)
    {
        decimal cost = 0, left = quantity;
        foreach (var batch in Batches)
        {
            if (left == 0)
                break;
            if (batch.Remaining == 0)
                continue;
            var take = Math.Min(batch.Remaining, left);
            batch.Remaining -= take;
            left -= take;
            cost += take * batch.UnitCost;
            lot?.Invoke(take, batch.UnitCost);
        }
        if (left > 0)
        {
            var unitCost = LastUnitCost ?? catalogCost ?? 0m;
            cost += left * unitCost;
            lot?.Invoke(left, unitCost);
        }
        Quantity -= quantity;
        return decimal.Round(cost, 4, MidpointRounding.AwayFromZero);
    }
}

/// <summary>
/// A received lot: what is left of it and what each unit cost. <see cref="Seq"/> is its place in
/// the store's FIFO order (stock_lots.fifo_seq): the database derives <see cref="Remaining"/> from
/// it and the level, so it must order the batches exactly as this list does.
/// </summary>
public sealed class StockBatch(Guid id, decimal unitCost, long seq)
{
    public Guid Id { get; } = id;
    public decimal UnitCost { get; } = unitCost;
    public long Seq { get; } = seq;
    public decimal Remaining { get; set; }
}
