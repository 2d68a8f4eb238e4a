namespace JowiShop.Grains.Abstractions.Sales;

[GenerateSerializer, Immutable, Alias("jowishop.ReceivingLine")]
public sealed record ReceivingLine([property: Id(0)] Guid VariantId, [property: Id(1)] decimal Quantity, [property: Id(2)] decimal UnitCost);

/// <summary>
/// Stock in: each line becomes a batch. <see cref="Id"/> makes a retried receiving harmless;
/// <see cref="RequestHash"/> identifies the request, so the same id with another request is refused.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.StockReceiving")]
public sealed record StockReceiving(
    [property: Id(0)] Guid Id,
    [property: Id(1)] IReadOnlyList<ReceivingLine> Lines,
    [property: Id(2)] string? SupplierReference,
    [property: Id(3)] byte[] RequestHash,
    // Who asked: recorded on the operation row, from which the audit trail takes it.
    [property: Id(4)] Guid? ActorId = null);

public enum AdjustmentReason { Count, WriteOff, Damage, Other }

/// <summary>A stock correction: a count sets the level to <see cref="CountedQuantity"/>; otherwise <see cref="Delta"/> moves it.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.AdjustmentLine")]
public sealed record AdjustmentLine(
    [property: Id(0)] Guid VariantId,
    [property: Id(1)] decimal? Delta,
    [property: Id(2)] decimal? CountedQuantity,
    [property: Id(3)] decimal? CatalogCost);

[GenerateSerializer, Immutable, Alias("jowishop.StockAdjustment")]
public sealed record StockAdjustment(
    [property: Id(0)] Guid Id,
    [property: Id(1)] AdjustmentReason Reason,
    [property: Id(2)] IReadOnlyList<AdjustmentLine> Lines,
    [property: Id(3)] string? Note,
    [property: Id(4)] byte[] RequestHash,
    [property: Id(5)] Guid? ActorId = null);

[GenerateSerializer, Immutable, Alias("jowishop.TransferLine")]
public sealed record TransferLine([property: Id(0)] Guid VariantId, [property: Id(1)] decimal Quantity, [property: Id(2)] decimal? CatalogCost);

/// <summary>
/// A transfer between two stores of a tenant, as first asked: both legs are keyed by <see cref="Id"/>,
/// and both stores are fixed by the first request (a second one with the same id must match <see cref="RequestHash"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.StockTransfer")]
public sealed record StockTransfer(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid FromStoreId,
    [property: Id(2)] Guid ToStoreId,
    [property: Id(3)] IReadOnlyList<TransferLine> Lines,
    [property: Id(4)] byte[] RequestHash,
    [property: Id(5)] Guid? ActorId = null);

/// <summary>What left the sending store: quantities at the unit costs of the batches they came from.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.TransferredLot")]
public sealed record TransferredLot([property: Id(0)] Guid VariantId, [property: Id(1)] decimal Quantity, [property: Id(2)] decimal UnitCost);

public enum StockOutcome
{
    Done,
    /// <summary>The same id and request were applied before: nothing moved again.</summary>
    AlreadyDone,
    StoreNotFound,
    InsufficientStock,
    Unavailable,
    Invalid,
    /// <summary>The id was used with another request, for another kind of operation, or at other stores: 409, nothing moved.</summary>
    IdConflict,
}

[GenerateSerializer, Immutable, Alias("jowishop.StockResult")]
public sealed record StockResult(
    [property: Id(0)] StockOutcome Outcome,
    [property: Id(1)] IReadOnlyList<StockLevelView> Levels,
    [property: Id(2)] string? Detail = null,
    [property: Id(3)] IReadOnlyList<TransferredLot>? Lots = null);

[GenerateSerializer, Immutable, Alias("jowishop.StockLevelView")]
public sealed record StockLevelView([property: Id(0)] Guid VariantId, [property: Id(1)] decimal Quantity, [property: Id(2)] decimal? LastUnitCost);

[GenerateSerializer, Immutable, Alias("jowishop.RefundLine")]
public sealed record RefundLine([property: Id(0)] Guid VariantId, [property: Id(1)] decimal Quantity);

/// <summary>A refund of lines of a sale. Empty <see cref="Payments"/>: paid back in cash, the refund total.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.RefundCommand")]
public sealed record RefundCommand(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid OriginalReceiptId,
    [property: Id(2)] Guid TerminalId,
    [property: Id(3)] Guid CashierId,
    [property: Id(4)] IReadOnlyList<RefundLine> Lines,
    [property: Id(5)] IReadOnlyList<Payment> Payments,
    [property: Id(6)] byte[] RequestHash);
