using JowiShop.Grains.Abstractions.Sales;

namespace JowiShop.Grains.Sales;

/// <summary>
/// What one store writes in one commit, behind its fence: receipts (their lines and payments on
/// the row), stock operations, movements other than sales (a sale's are its receipt lines), new
/// batches (what is left of each follows from the level: migration 0015), and the resulting levels.
/// Plain data, so the <see cref="LedgerWriter"/> can write several stores' commits in one transaction.
/// </summary>
public sealed record StoreCommit(
    Guid TenantId,
    Guid StoreId,
    StoreFence Fence,
    IReadOnlyList<(Receipt Receipt, byte[] RequestHash)> Receipts,
    IReadOnlyList<StockOperationRow> Operations,
    IReadOnlyList<StockMovement> Movements,
    IReadOnlyList<NewStockBatch> NewBatches,
    IReadOnlyList<LevelWrite> Levels,
    IReadOnlyList<LedgerStatement> Extra)
{
    /// <summary>Receipts, or their lines and the movements, to bound a transaction's size.</summary>
    public int Size => Math.Max(1, Math.Max(Receipts.Count, Receipts.Sum(r => r.Receipt.Items.Count) + Movements.Count));
}

/// <summary>A variant's level as the commit leaves it; <see cref="IsNew"/>: no stock_levels row yet (INSERT, else UPDATE).</summary>
public readonly record struct LevelWrite(Guid VariantId, decimal Quantity, decimal? LastUnitCost, bool IsNew);

/// <summary>
/// The store row's state this commit continues from and leaves: if the row is not as expected
/// (another activation committed, or the commit continued from never landed) the fence raises
/// JW001 and the whole transaction rolls back. The tokens are what makes "as expected" exact.
/// </summary>
public readonly record struct StoreFence(
    long Version, long PreviousReceiptSeq, long ReceiptSeq, long PreviousRefundSeq, long RefundSeq, Guid? PreviousToken, Guid Token);

/// <summary>
/// A stock operation other than a sale (receiving, adjustment, transfer), applied once per id;
/// <see cref="RequestHash"/> is what a replay of the id must match.
/// </summary>
public sealed record StockOperationRow(Guid Id, string Kind, string? Reference, byte[] RequestHash, Guid? ActorId = null);

public sealed record StockMovement(Guid VariantId, string Kind, decimal Quantity, decimal? UnitCost, Guid? ReceiptId, string? Reference, DateTimeOffset At);

public sealed record NewStockBatch(StockBatch Batch, Guid VariantId, string Source, decimal Received, string? Reference, DateTimeOffset At);

/// <summary>A statement of one store's commit that has no multi-store form (the transfer rows).</summary>
public sealed record LedgerStatement(string Sql, params object?[] Values);
