using JowiShop.Grains.Persistence;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Sales;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Orleans.Concurrency;

namespace JowiShop.Grains.Sales;

/// <summary>
/// A store's receipts and stock. Sales queue as they arrive and are submitted in batches to the
/// silo's <see cref="LedgerWriter"/>, each numbered from the batch before it (the tip: committed
/// state plus batches not yet committed) and taken out of stock FIFO on working copies, behind the
/// store's commit fence; a batch is applied to memory and answered only after its commit, in
/// order (docs/receipts.md). A failed commit consumes no number: its sales are answered
/// Unavailable, the batches behind it are sold again, and the grain reloads from PostgreSQL.
/// </summary>
[Reentrant]
public sealed class StoreGrain(NpgsqlDataSource db, LedgerWriter ledger, ILogger<StoreGrain> logger) : Grain, IStoreGrain
{
    private const int MaxBatch = 512;
    /// <summary>Batches submitted and not yet committed; more sales wait in the queue.</summary>
    private const int MaxInFlight = 8;
    private const int RecentReceipts = 4096;

    private Guid _tenantId, _storeId;
    private bool _exists;
    private TimeZoneInfo _timeZone = TimeZoneInfo.Utc;
    private bool _refuseNegativeStock;

    // Committed state, as of the last successful commit (or load).
    private long _receiptSeq, _refundSeq, _commitVersion;
    private Guid? _commitToken;
    private readonly Dictionary<Guid, StockState> _stock = [];
    private bool _reloadNeeded;

    // Batches submitted and not yet committed, oldest first; the last one is the tip the next
    // batch continues from (none: the committed state is the tip).
    private readonly List<InFlight> _inFlight = [];
    private TaskCompletionSource? _salesArrived;
    // Refunds and stock operations waiting for the write slot: the sale pipeline drains for them.
    private int _exclusiveWaiting;

    // Sales waiting for the next commit, and every sale not yet answered, by id (concurrent duplicates share one).
    private readonly List<PendingSale> _queue = [];
    private readonly Dictionary<Guid, PendingSale> _unanswered = [];
    private bool _committing;
    // One write transaction at a time: sale batches and the occasional stock operation or refund take turns.
    private readonly SemaphoreSlim _writeSlot = new(1, 1);

    // Recently committed receipts, for idempotent replays without a query.
    private readonly Dictionary<Guid, ReceiptRows.Stored> _recent = [];
    private readonly Queue<Guid> _recentOrder = new();

    private sealed record PendingSale(SaleCommand Sale, TaskCompletionSource<SaleResult> Answer);

    /// <summary>A submitted batch: its sales (with any refused at the tip after it) and its commit.</summary>
    private sealed record InFlight(List<PendingSale> Sales, BatchWork Work, Task Commit);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _storeId = this.GetPrimaryKey(out var tenant);
        _tenantId = Guid.Parse(tenant!);
        try
        {
            await LoadStoreAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            throw DatabaseFailures.Translate(e); // activation failures bypass the call filter
        }
    }

    public async Task<SaleResult> SellAsync(SaleCommand sale)
    {
        if (_recent.TryGetValue(sale.Id, out var stored))
            return Replay(stored, sale.RequestHash);
        if (_unanswered.TryGetValue(sale.Id, out var twin))
        {
            // The same id is already on its way: share its outcome instead of selling twice.
            var first = await twin.Answer.Task;
            return first.Outcome == SaleOutcome.Created && first.Receipt is { } r
                ? Replay(new ReceiptRows.Stored(r, twin.Sale.RequestHash, _tenantId), sale.RequestHash)
                : first;
        }
        if (!_exists)
            return Missing(new SaleResult(SaleOutcome.StoreNotFound));

        var pending = new PendingSale(sale, new TaskCompletionSource<SaleResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        _unanswered[sale.Id] = pending;
        _queue.Add(pending);
        _salesArrived?.TrySetResult();
        if (!_committing)
            _ = CommitQueueAsync();
        return await pending.Answer.Task;
    }

    public Task<decimal?> GetStockLevelAsync(Guid variantId) =>
        Task.FromResult(_stock.TryGetValue(variantId, out var state) ? state.Quantity : (decimal?)null);

    public Task<StockResult> ReceiveAsync(StockReceiving receiving) =>
        StockOperationAsync(new StockOperationRow(receiving.Id, "receiving", receiving.SupplierReference, receiving.RequestHash, receiving.ActorId), null,
            receiving.Lines.Select(l => l.VariantId), (work, _) =>
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var line in receiving.Lines)
                work.Put(line.VariantId, line.Quantity, line.UnitCost, "receiving", "receiving", null, receiving.SupplierReference, now);
            return null;
        });

    public Task<StockResult> AdjustAsync(StockAdjustment adjustment) =>
        StockOperationAsync(new StockOperationRow(adjustment.Id, "adjustment", adjustment.Note, adjustment.RequestHash, adjustment.ActorId), null,
            adjustment.Lines.Select(l => l.VariantId), (work, _) =>
        {
            var now = DateTimeOffset.UtcNow;
            var reference = $"{adjustment.Reason.ToString().ToLowerInvariant()}{(adjustment.Note is null ? "" : ": " + adjustment.Note)}";
            foreach (var line in adjustment.Lines)
            {
                var delta = line.CountedQuantity is { } counted ? counted - work.Working(line.VariantId).Quantity : line.Delta ?? 0m;
                if (delta < 0)
                {
                    if (_refuseNegativeStock && work.Working(line.VariantId).Quantity + delta < 0)
                        return (StockOutcome.InsufficientStock, $"Variant {line.VariantId}: adjusting by {delta} would take the level below zero.");
                    work.Take(line.VariantId, -delta, line.CatalogCost, "adjustment", null, reference, now);
                }
                else if (delta > 0)
                {
                    var state = work.Working(line.VariantId);
                    work.Put(line.VariantId, delta, state.LastUnitCost ?? line.CatalogCost ?? 0m, "adjustment", "adjustment", null, reference, now);
                }
            }
            return null;
        });

    public async Task<StockResult> SendTransferAsync(StockTransfer transfer)
    {
        if (transfer.FromStoreId != _storeId)
            return new StockResult(StockOutcome.Invalid, [], $"Transfer {transfer.Id} is sent by store {transfer.FromStoreId}, not {_storeId}.");
        var lots = new List<TransferredLot>();
        var result = await StockOperationAsync(new StockOperationRow(transfer.Id, "transfer_out", $"to {transfer.ToStoreId}", transfer.RequestHash, transfer.ActorId), transfer,
            transfer.Lines.Select(l => l.VariantId), (work, _) =>
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var line in transfer.Lines)
            {
                if (_refuseNegativeStock && work.Working(line.VariantId).Quantity < line.Quantity)
                    return (StockOutcome.InsufficientStock, $"Variant {line.VariantId}: {line.Quantity} to send, {work.Working(line.VariantId).Quantity} on hand.");
                work.Take(line.VariantId, line.Quantity, line.CatalogCost, "transfer_out", null, $"transfer {transfer.Id}", now, lots);
            }
            return null;
        }, () => new LedgerStatement(
            """
            INSERT INTO stock_transfers (id, tenant_id, from_store_id, to_store_id, lots, sent_at, request_hash)
            VALUES ($1, $2, $3, $4, $5::jsonb, now(), $6)
            """,
            transfer.Id, _tenantId, _storeId, transfer.ToStoreId, System.Text.Json.JsonSerializer.Serialize(lots), transfer.RequestHash));
        return result.Outcome == StockOutcome.Done ? result with { Lots = lots } : result;
    }

    public Task<StockResult> ReceiveTransferAsync(StockTransfer transfer)
    {
        if (transfer.ToStoreId != _storeId)
            return Task.FromResult(new StockResult(StockOutcome.Invalid, [], $"Transfer {transfer.Id} is received by store {transfer.ToStoreId}, not {_storeId}."));
        // The lots booked are the ones recorded when the transfer was sent (judged to be this
        // transfer, sent to this store, before this runs), never what the caller says.
        return StockOperationAsync(new StockOperationRow(transfer.Id, "transfer_in", $"from {transfer.FromStoreId}", transfer.RequestHash, transfer.ActorId), transfer,
            transfer.Lines.Select(l => l.VariantId), (work, uses) =>
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var lot in uses.Transfer!.Lots)
                work.Put(lot.VariantId, lot.Quantity, lot.UnitCost, "transfer", "transfer_in", null, $"transfer {transfer.Id}", now);
            return null;
        }, () => new LedgerStatement(
            "UPDATE stock_transfers SET received_at = now() WHERE id = $1 AND tenant_id = $2 AND to_store_id = $3 AND received_at IS NULL",
            transfer.Id, _tenantId, _storeId));
    }

    public async Task<SaleResult> RefundAsync(RefundCommand refund)
    {
        await TakeWriteTurnAsync();
        try
        {
            if (_reloadNeeded)
                await LoadStoreAsync(CancellationToken.None);
            await RefreshConfigAsync();
            if (!_exists)
                return Missing(new SaleResult(SaleOutcome.StoreNotFound));

            var stored = await ReceiptRows.LoadAsync(db, _tenantId, [refund.Id, refund.OriginalReceiptId]);
            if (stored.TryGetValue(refund.Id, out var existing))
                return existing.Receipt.RefundOf == refund.OriginalReceiptId
                    ? Replay(existing, refund.RequestHash)
                    : new SaleResult(SaleOutcome.IdConflict, Detail: $"Receipt id {refund.Id} was already used with a different request.");
            if (await UsedByStockOperationAsync(refund.Id))
                return new SaleResult(SaleOutcome.IdConflict, Detail: $"Id {refund.Id} was already used for a stock operation.");
            if (!stored.TryGetValue(refund.OriginalReceiptId, out var original) || original.Receipt.StoreId != _storeId || original.Receipt.Kind != ReceiptKind.Sale)
                return new SaleResult(SaleOutcome.StoreNotFound, Detail: $"Receipt {refund.OriginalReceiptId} is not a sale of this store.");

            var refundedBefore = await RefundedQuantitiesAsync(refund.OriginalReceiptId);
            await LoadStockAsync(refund.Lines.Select(l => l.VariantId));
            var work = new BatchWork(this);
            var now = DateTimeOffset.UtcNow;
            var lines = new List<ReceiptLine>();
            foreach (var (line, index) in refund.Lines.Select((l, i) => (l, i)))
            {
                var sold = original.Receipt.Items.Where(i => i.VariantId == line.VariantId).ToArray();
                var soldQuantity = sold.Sum(i => i.Quantity);
                var already = refundedBefore.GetValueOrDefault(line.VariantId) + refund.Lines.Take(index).Where(l => l.VariantId == line.VariantId).Sum(l => l.Quantity);
                if (soldQuantity == 0 || already + line.Quantity > soldQuantity)
                    return new SaleResult(SaleOutcome.RefundExceedsSale, VariantId: line.VariantId,
                        Detail: $"Variant {line.VariantId}: {line.Quantity} to refund, but {soldQuantity} sold and {already} already refunded.");
                // The refund is valued and restocked at what the sale charged and cost. The value is the
                // difference of the rounded shares refunded after and before this line, so any number of
                // partial refunds adds up to exactly the sale's line total, never more (per-line rounding
                // of 500 refunds of 0.001 kg paid out 0.02 each for 0.015 of goods).
                var saleValue = sold.Sum(i => i.LineTotal);
                var unitCost = sold.Sum(i => i.CostOfGoods) / soldQuantity;
                var value = ReceiptMath.Money(saleValue * (already + line.Quantity) / soldQuantity) - ReceiptMath.Money(saleValue * already / soldQuantity);
                var cost = decimal.Round(unitCost * line.Quantity, 4);
                lines.Add(new ReceiptLine(index + 1, line.VariantId, line.Quantity, sold[0].UnitPrice, Math.Max(0m, ReceiptMath.Money(sold[0].UnitPrice * line.Quantity) - value), value, cost));
                work.Put(line.VariantId, line.Quantity, decimal.Round(unitCost, 4), "refund", "refund", refund.Id, $"refund of {original.Receipt.ReceiptNumber}", now);
            }

            var total = lines.Sum(l => l.LineTotal);
            // No payments given: the refund is paid back in cash (nothing to pay back for free goods:
            // no payment row, as a payment is never zero).
            IReadOnlyList<Payment> payments = refund.Payments.Count > 0 ? refund.Payments : total > 0 ? [new Payment(PaymentMethod.Cash, total)] : [];
            var paid = payments.Sum(p => p.Amount);
            if (paid != total)
                return new SaleResult(SaleOutcome.Invalid, Detail: $"payments: the refund total is {total}, the payments add up to {paid}.");
            var businessDate = BusinessDate(now);
            var seq = ++work.RefundSeq;
            var receipt = new Receipt(refund.Id, ReceiptNumbers.Refund(businessDate, seq), ReceiptKind.Refund, _storeId, refund.TerminalId,
                refund.CashierId, original.Receipt.CustomerId, original.Receipt.Id, now, businessDate, lines,
                lines.Sum(l => l.LineTotal + l.Discount), lines.Sum(l => l.Discount), total, payments, 0m, null, seq);
            var pending = new PendingSale(new SaleCommand(refund.Id, refund.TerminalId, refund.CashierId, null, [], payments, null, refund.RequestHash),
                new TaskCompletionSource<SaleResult>());
            work.Accepted.Add((pending, receipt));
            try
            {
                await WriteAsync(work);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "receipts_pkey")
            {
                // The id is another tenant's receipt (this tenant's was answered above as a replay).
                return new SaleResult(SaleOutcome.IdConflict, Detail: $"Receipt id {refund.Id} was already used with a different request.");
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                WriteFailed(e, "refund", refund.Id);
                return new SaleResult(SaleOutcome.Unavailable, Detail: "The refund could not be committed; nothing was recorded. Retry with the same id.");
            }
            Apply(work);
            Remember(new ReceiptRows.Stored(receipt, refund.RequestHash, _tenantId));
            return new SaleResult(SaleOutcome.Created, receipt);
        }
        finally
        {
            _writeSlot.Release();
        }
    }

    /// <summary>
    /// Runs a stock operation alone, behind the fence, once per id. What the database holds for
    /// the id is read first (so the judgment survives a reactivation or a failover): the same
    /// request again answers AlreadyDone without moving stock; the id used with another request,
    /// at other stores, by a receipt or for another kind of operation answers IdConflict. A
    /// concurrent first use elsewhere is caught by the database (unique index, or JW002 for a
    /// receiving leg at a store the transfer was not sent to) and judged again the same way.
    /// </summary>
    private async Task<StockResult> StockOperationAsync(StockOperationRow operation, StockTransfer? transfer, IEnumerable<Guid> variantIds,
        Func<BatchWork, IdUses, (StockOutcome Outcome, string Detail)?> prepare, Func<LedgerStatement>? extra = null)
    {
        await TakeWriteTurnAsync();
        try
        {
            if (_reloadNeeded)
                await LoadStoreAsync(CancellationToken.None);
            await RefreshConfigAsync();
            if (!_exists)
                return Missing(new StockResult(StockOutcome.StoreNotFound, []));
            var uses = await IdUsesAsync(operation.Id);
            var (verdict, detail) = Judge(operation, transfer, uses);
            if (verdict == UseVerdict.Conflict)
                return new StockResult(StockOutcome.IdConflict, [], detail);
            var variants = variantIds.Concat(uses.Transfer?.Lots.Select(l => l.VariantId) ?? []).Distinct().ToArray();
            await LoadStockAsync(variants);
            if (verdict == UseVerdict.Replay)
                return new StockResult(StockOutcome.AlreadyDone, Levels(variants), Lots: uses.Transfer?.Lots);

            var work = new BatchWork(this);
            work.Operations.Add(operation);
            if (prepare(work, uses) is { } refused)
                return new StockResult(refused.Outcome, [], refused.Detail);
            try
            {
                await WriteAsync(work, extra);
            }
            catch (PostgresException e) when (e.SqlState == "JW002" || e.SqlState == PostgresErrorCodes.UniqueViolation
                && e.ConstraintName is "stock_operations_pkey" or "ux_stock_operations_one_per_id" or "stock_transfers_pkey")
            {
                // Refused whole (nothing of it committed; the store row is as it was): the id was
                // taken meanwhile, by another store's grain. Judge it as a replay would be.
                (verdict, detail) = Judge(operation, transfer, uses = await IdUsesAsync(operation.Id));
                logger.LogInformation("Store {StoreId}: {Kind} {Id} refused by the database ({SqlState}): {Verdict}",
                    _storeId, operation.Kind, operation.Id, e.SqlState, verdict);
                return verdict switch
                {
                    UseVerdict.Replay => new StockResult(StockOutcome.AlreadyDone, Levels(variants), Lots: uses.Transfer?.Lots),
                    UseVerdict.Conflict => new StockResult(StockOutcome.IdConflict, [], detail),
                    // Refused, yet nothing holds the id now: what refused it rolled back. Ask again.
                    _ => new StockResult(StockOutcome.Unavailable, [], "The stock operation could not be committed; nothing was recorded. Retry with the same id."),
                };
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                WriteFailed(e, operation.Kind, operation.Id);
                return new StockResult(StockOutcome.Unavailable, [], "The stock operation could not be committed; nothing was recorded. Retry with the same id.");
            }
            Apply(work);
            return new StockResult(StockOutcome.Done, Levels(variants));
        }
        finally
        {
            _writeSlot.Release();
        }
    }

    private enum UseVerdict { New, Replay, Conflict }

    /// <summary>What the database holds for an id: stock operation rows (any tenant), the transfer row, whether a receipt has it.</summary>
    private sealed record IdUses(IReadOnlyList<OperationUse> Operations, TransferUse? Transfer, bool Receipt);

    private sealed record OperationUse(Guid TenantId, Guid StoreId, string Kind, byte[]? RequestHash);

    private sealed record TransferUse(Guid TenantId, Guid FromStoreId, Guid ToStoreId, byte[]? RequestHash, IReadOnlyList<TransferredLot> Lots);

    /// <summary>
    /// Whether an operation is new, a replay of the id's first request, or a conflicting use of
    /// the id. Rows written before request hashes were stored (NULL) are judged by tenant, store,
    /// kind and (transfers) stores alone.
    /// </summary>
    private (UseVerdict Verdict, string? Detail) Judge(StockOperationRow operation, StockTransfer? transfer, IdUses uses)
    {
        var conflict = (UseVerdict.Conflict, $"Id {operation.Id} was already used with a different request (another body, store or kind of operation).");
        bool SameRequest(byte[]? stored) => stored is null || stored.AsSpan().SequenceEqual(operation.RequestHash);
        bool Here(OperationUse use) => use.TenantId == _tenantId && use.StoreId == _storeId;
        if (uses.Receipt)
            return (UseVerdict.Conflict, $"Id {operation.Id} was already used for a receipt.");

        if (operation.Kind is not ("transfer_out" or "transfer_in"))
        {
            if (uses.Operations.Count == 0 && uses.Transfer is null)
                return (UseVerdict.New, null);
            return uses is { Transfer: null, Operations: [var only] } && Here(only) && only.Kind == operation.Kind && SameRequest(only.RequestHash)
                ? (UseVerdict.Replay, null)
                : conflict;
        }

        var t = uses.Transfer;
        if (t is null)
        {
            if (uses.Operations.Count > 0)
                return conflict;
            // The sending leg writes the transfer row: without it, a receiving leg has nothing to book.
            return operation.Kind == "transfer_out" ? (UseVerdict.New, null) : (UseVerdict.Conflict, $"Transfer {operation.Id} was not sent.");
        }
        // The transfer's stores are the ones its first request named.
        if (t.TenantId != _tenantId || t.FromStoreId != transfer!.FromStoreId || t.ToStoreId != transfer.ToStoreId || !SameRequest(t.RequestHash))
            return conflict;
        if (operation.Kind == "transfer_out")
            return uses.Operations.Any(u => Here(u) && u.Kind == "transfer_out") ? (UseVerdict.Replay, null) : conflict;
        var received = uses.Operations.Where(u => u.Kind == "transfer_in").ToArray();
        return received switch
        {
            [] => (UseVerdict.New, null),
            [var only] when Here(only) => (UseVerdict.Replay, null),
            _ => conflict,
        };
    }

    /// <summary>Everything that uses this id, read from PostgreSQL in one round trip.</summary>
    private async Task<IdUses> IdUsesAsync(Guid id)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(Sql.Command("SELECT tenant_id, store_id, kind, request_hash FROM stock_operations WHERE id = $1", id));
        batch.BatchCommands.Add(Sql.Command("SELECT tenant_id, from_store_id, to_store_id, request_hash, lots::text FROM stock_transfers WHERE id = $1", id));
        batch.BatchCommands.Add(Sql.Command("SELECT EXISTS (SELECT 1 FROM receipts WHERE id = $1)", id));
        await using var reader = await batch.ExecuteReaderAsync();
        var operations = new List<OperationUse>();
        while (await reader.ReadAsync())
            operations.Add(new OperationUse(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3)));
        await reader.NextResultAsync();
        TransferUse? transfer = null;
        if (await reader.ReadAsync())
            transfer = new TransferUse(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3),
                System.Text.Json.JsonSerializer.Deserialize<List<TransferredLot>>(reader.GetString(4)) ?? []);
        await reader.NextResultAsync();
        await reader.ReadAsync();
        var receipt = reader.GetBoolean(0);
        return new IdUses(operations, transfer, receipt);
    }

    /// <summary>
    /// No live store has this id (never had, or it was closed): answer, then leave memory, so that
    /// made-up ids do not each keep an activation for Orleans:CollectionAge.
    /// </summary>
    private T Missing<T>(T answer)
    {
        DeactivateOnIdle();
        return answer;
    }

    /// <summary>
    /// A refund or stock operation did not commit (or its outcome is unknown): reload before the
    /// next write; fenced means another activation wrote, so this one steps aside.
    /// </summary>
    private void WriteFailed(Exception e, string kind, Guid id)
    {
        _reloadNeeded = true;
        if (e is PostgresException { SqlState: "JW001" })
            DeactivateOnIdle();
        logger.LogWarning(e, "Store {StoreId}: {Kind} {Id} failed", _storeId, kind, id);
    }

    /// <summary>A refund's or stock operation's turn to write: the sale pipeline stops submitting and drains first.</summary>
    private async Task TakeWriteTurnAsync()
    {
        _exclusiveWaiting++;
        try
        {
            await _writeSlot.WaitAsync();
        }
        finally
        {
            _exclusiveWaiting--;
        }
    }

    /// <summary>Which of these receipt ids exist at all (any tenant): the primary key is global.</summary>
    private async Task<HashSet<Guid>> TakenIdsAsync(Guid[] ids)
    {
        await using var cmd = db.CreateCommand("SELECT id FROM receipts WHERE id = ANY($1)");
        Sql.Add(cmd.Parameters, (object)ids);
        var taken = new HashSet<Guid>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            taken.Add(reader.GetGuid(0));
        return taken;
    }

    private List<StockLevelView> Levels(IEnumerable<Guid> variants) =>
        variants.Select(v => _stock.TryGetValue(v, out var s) ? new StockLevelView(v, s.Quantity, s.LastUnitCost) : new StockLevelView(v, 0m, null)).ToList();

    private async Task<bool> UsedByStockOperationAsync(Guid id)
    {
        await using var cmd = db.CreateCommand("SELECT EXISTS (SELECT 1 FROM stock_operations WHERE id = $1)");
        Sql.Add(cmd.Parameters, id);
        return (bool)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task<Dictionary<Guid, decimal>> RefundedQuantitiesAsync(Guid originalReceiptId)
    {
        await using var cmd = db.CreateCommand(
            """
            SELECT i.variant_id, sum(i.quantity) FROM receipts r JOIN receipt_items i ON i.receipt_id = r.id
            WHERE r.tenant_id = $1 AND r.refund_of = $2 GROUP BY i.variant_id
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = originalReceiptId });
        var result = new Dictionary<Guid, decimal>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            result[reader.GetGuid(0)] = reader.GetDecimal(1);
        return result;
    }

    /// <summary>
    /// Commits queued sales until none are queued or in flight. Runs on the grain's scheduler and
    /// holds the write slot meanwhile; a waiting refund or stock operation stops new submissions,
    /// lets the pipeline drain and takes its turn.
    /// </summary>
    private async Task CommitQueueAsync()
    {
        _committing = true;
        try
        {
            while (_queue.Count > 0)
            {
                await _writeSlot.WaitAsync();
                try
                {
                    await PipelineAsync();
                }
                catch (Exception e)
                {
                    // Unexpected: never leave a till waiting for an answer that will not come. The
                    // commits already submitted finish first, so the reload sees where they left the store.
                    logger.LogError(e, "Store {StoreId}: sale pipeline failed unexpectedly", _storeId);
                    foreach (var submitted in _inFlight)
                        await Task.WhenAny(submitted.Commit);
                    _inFlight.Clear();
                    _reloadNeeded = true;
                    var queued = _queue.ToHashSet();
                    foreach (var pending in _unanswered.Values.Where(p => !queued.Contains(p)).ToList())
                        Answer(pending, new SaleResult(SaleOutcome.Unavailable,
                            Detail: "The sale could not be confirmed as committed. Retry with the same id."));
                }
                finally
                {
                    _writeSlot.Release();
                }
            }
        }
        finally
        {
            _committing = false;
        }
    }

    /// <summary>
    /// Submits a batch of the queued sales as soon as they arrive, each numbered and costed from
    /// the batch before it (the tip), without waiting for that one to commit: the silo's ledger
    /// writer then finds several stores' batches waiting and writes them in one transaction. The
    /// fence orders one store's commits: a batch commits only after the one it continues from. The
    /// batches are answered as their commits complete, in order. After a failure nothing more is
    /// submitted; the batches behind it fail at the fence, their sales are queued again, and the
    /// store reloads from PostgreSQL before the next batch.
    /// </summary>
    private async Task PipelineAsync()
    {
        var failed = false;
        var resell = new List<PendingSale>();
        while (true)
        {
            while (!failed && _exclusiveWaiting == 0 && _queue.Count > 0 && _inFlight.Count < MaxInFlight)
            {
                var batch = _queue.Take(MaxBatch).ToList();
                _queue.RemoveRange(0, batch.Count);
                await SubmitAsync(batch);
            }
            if (_inFlight.Count == 0)
            {
                if (!failed)
                    return;
                failed = false;
                _queue.InsertRange(0, resell);
                resell.Clear();
                continue;
            }

            var head = _inFlight[0];
            var headCommit = head.Commit;
            if (!headCommit.IsCompleted)
            {
                if (!failed && _exclusiveWaiting == 0 && _inFlight.Count < MaxInFlight)
                {
                    // Wake for the commit or for new sales, whichever comes first.
                    _salesArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    if (_queue.Count == 0)
                        await Task.WhenAny(headCommit, _salesArrived.Task);
                    _salesArrived = null;
                }
                else
                {
                    await Task.WhenAny(headCommit);
                }
                if (!headCommit.IsCompleted)
                    continue;
            }
            _inFlight.RemoveAt(0);
            if (!await CompleteAsync(head, failed, resell))
                failed = true;
        }
    }

    /// <summary>Numbers, costs and submits one batch; answers at once what needs no commit.</summary>
    private async Task SubmitAsync(List<PendingSale> batch)
    {
        try
        {
            if (_reloadNeeded && _inFlight.Count == 0)
                await LoadStoreAsync(CancellationToken.None);
            await RefreshConfigAsync();
            await LoadStockAsync(batch.SelectMany(p => p.Sale.Lines.Select(l => l.VariantId)));
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OrleansException or DatabaseFailureException)
        {
            logger.LogWarning(e, "Store {StoreId}: could not load state; failing {Count} sales", _storeId, batch.Count);
            Answer(batch, new SaleResult(SaleOutcome.Unavailable, Detail: "The store's data could not be loaded."));
            return;
        }
        if (!_exists)
        {
            Answer(batch, Missing(new SaleResult(SaleOutcome.StoreNotFound)));
            return;
        }

        var work = Prepare(batch);
        if (work.Accepted.Count > 0)
        {
            _inFlight.Add(new InFlight(batch, work, WriteAsync(work)));
        }
        else if (_inFlight.Count > 0)
        {
            // Refused (stock) as judged at the tip: they stand once the batch they were judged after commits.
            var tip = _inFlight[^1];
            tip.Sales.AddRange(batch);
            tip.Work.Refused.AddRange(work.Refused);
        }
        else
        {
            Answer(work.Refused);
        }
    }

    /// <summary>Answers a batch whose commit completed; false if it failed.</summary>
    private async Task<bool> CompleteAsync(InFlight done, bool afterFailure, List<PendingSale> resell)
    {
        var work = done.Work;
        if (done.Commit.IsCompletedSuccessfully)
        {
            Apply(work);
            foreach (var (pending, receipt) in work.Accepted)
            {
                Remember(new ReceiptRows.Stored(receipt, pending.Sale.RequestHash, _tenantId));
                Answer(pending, new SaleResult(SaleOutcome.Created, receipt));
            }
            Answer(work.Refused);
            return true;
        }

        _reloadNeeded = true;
        var e = done.Commit.Exception!.InnerException!;
        if (afterFailure && e is PostgresException { SqlState: "JW001" })
        {
            // Refused at the fence only because a batch before it failed: sell these again after the reload.
            resell.AddRange(done.Sales);
            return false;
        }
        if (e is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "receipts_pkey" })
        {
            // An id committed before this activation's memory (a retry after failover, or an old
            // receipt): answer those from the database, and sell the rest again.
            var ids = work.Accepted.Select(a => a.Pending.Sale.Id).ToArray();
            try
            {
                var existing = await ReceiptRows.LoadAsync(db, _tenantId, ids);
                var taken = await TakenIdsAsync(ids);
                foreach (var (pending, _) in work.Accepted.Where(a => taken.Contains(a.Pending.Sale.Id)))
                    Answer(pending, existing.TryGetValue(pending.Sale.Id, out var stored)
                        ? Replay(stored, pending.Sale.RequestHash)
                        // Another tenant's receipt: the same answer as any reuse of an id, and nothing of it.
                        : new SaleResult(SaleOutcome.IdConflict, Detail: $"Receipt id {pending.Sale.Id} was already used with a different request."));
                resell.AddRange(done.Sales.Where(p => !taken.Contains(p.Sale.Id)));
                return false;
            }
            catch (Exception lookup) when (lookup is NpgsqlException or TimeoutException)
            {
                e = lookup;
            }
        }

        // Commit outcome unknown or refused (database down, fenced by another activation):
        // nothing in memory changed; reload from the database before the next batch.
        var fenced = e is PostgresException { SqlState: "JW001" };
        logger.LogWarning(e, "Store {StoreId}: commit of {Count} sales failed{Fenced}", _storeId, work.Accepted.Count, fenced ? " (fenced)" : "");
        foreach (var (pending, _) in work.Accepted)
            Answer(pending, new SaleResult(SaleOutcome.Unavailable, Detail: "The sale could not be committed; nothing was recorded. Retry with the same id."));
        // Refusals were judged on stock this batch (or one before it) would have left: judge them again.
        resell.AddRange(work.Refused.Select(r => r.Pending));
        if (fenced)
            DeactivateOnIdle();
        return false;
    }

    /// <summary>What one commit writes: receipts, and stock changes on copies of the stock at the tip.</summary>
    private sealed class BatchWork
    {
        private readonly StoreGrain _store;
        // The fence: the store row this commit continues from (the tip's end).
        public readonly long PreviousVersion, PreviousReceiptSeq, PreviousRefundSeq;
        public readonly Guid? PreviousToken;
        public readonly Guid Token = Guid.CreateVersion7();
        public long ReceiptSeq, RefundSeq;
        public readonly Dictionary<Guid, StockState> Stock = [];
        public readonly HashSet<StockBatch> TouchedBatches = [];
        public readonly List<NewStockBatch> NewBatches = [];
        public readonly List<StockMovement> Movements = [];
        public readonly List<(PendingSale Pending, Receipt Receipt)> Accepted = [];
        public readonly List<(PendingSale Pending, SaleResult Result)> Refused = [];
        public readonly List<StockOperationRow> Operations = [];

        public BatchWork(StoreGrain store)
        {
            _store = store;
            var tip = store._inFlight.Count > 0 ? store._inFlight[^1].Work : null;
            (PreviousVersion, PreviousReceiptSeq, PreviousRefundSeq, PreviousToken) = tip is null
                ? (store._commitVersion, store._receiptSeq, store._refundSeq, store._commitToken)
                : (tip.PreviousVersion + 1, tip.ReceiptSeq, tip.RefundSeq, tip.Token);
            (ReceiptSeq, RefundSeq) = (PreviousReceiptSeq, PreviousRefundSeq);
        }

        public StockState Working(Guid variantId)
        {
            if (!Stock.TryGetValue(variantId, out var state))
                Stock[variantId] = state = _store.StockAtTip(variantId)?.Clone() ?? new StockState();
            return state;
        }

        /// <summary>Takes stock out FIFO and journals it; returns the cost of goods.</summary>
        public decimal Take(Guid variantId, decimal quantity, decimal? catalogCost, string kind, Guid? receiptId, string? reference, DateTimeOffset at,
            List<TransferredLot>? lots = null)
        {
            var touched = new List<StockBatch>();
            var state = Working(variantId);
            var cost = state.Take(quantity, catalogCost, touched, lots is null ? null : (q, c) => lots.Add(new TransferredLot(variantId, q, c)));
            TouchedBatches.UnionWith(touched);
            Movements.Add(new StockMovement(variantId, kind, -quantity, quantity == 0 ? null : decimal.Round(cost / quantity, 4), receiptId, reference, at));
            return cost;
        }

        /// <summary>Puts stock in as a new batch; a negative level is made good from it first.</summary>
        public void Put(Guid variantId, decimal quantity, decimal unitCost, string source, string movementKind, Guid? receiptId, string? reference,
            DateTimeOffset at)
        {
            var state = Working(variantId);
            var remaining = state.Quantity < 0 ? Math.Max(0, quantity + state.Quantity) : quantity;
            var batch = new StockBatch(Guid.CreateVersion7(), unitCost) { Remaining = remaining };
            state.Batches.Add(batch);
            state.Quantity += quantity;
            state.LastUnitCost = unitCost;
            NewBatches.Add(new NewStockBatch(batch, variantId, source, quantity, reference, at));
            Movements.Add(new StockMovement(variantId, movementKind, quantity, unitCost, receiptId, reference, at));
        }
    }

    /// <summary>Numbers and costs the batch on copies of the touched stock; memory is not changed.</summary>
    private BatchWork Prepare(List<PendingSale> batch)
    {
        var work = new BatchWork(this);
        var now = DateTimeOffset.UtcNow;
        var businessDate = BusinessDate(now);
        foreach (var pending in batch)
        {
            var sale = pending.Sale;
            var Working = work.Working;

            if (_refuseNegativeStock)
            {
                var shortOf = sale.Lines.GroupBy(l => l.VariantId)
                    .Select(g => (VariantId: g.Key, Wanted: g.Sum(l => l.Quantity), OnHand: Working(g.Key).Quantity))
                    .FirstOrDefault(x => x.Wanted > x.OnHand);
                if (shortOf.VariantId != Guid.Empty)
                {
                    work.Refused.Add((pending, new SaleResult(SaleOutcome.InsufficientStock,
                        Detail: $"Variant {shortOf.VariantId}: {shortOf.Wanted} wanted, {shortOf.OnHand} on hand, and this store refuses negative stock.",
                        VariantId: shortOf.VariantId)));
                    continue;
                }
            }

            var lines = new List<ReceiptLine>(sale.Lines.Count);
            for (var i = 0; i < sale.Lines.Count; i++)
            {
                var line = sale.Lines[i];
                var cost = work.Take(line.VariantId, line.Quantity, line.CatalogCost, "sale", sale.Id, null, now);
                var (_, total) = ReceiptMath.Line(line.Quantity, line.UnitPrice, line.Discount);
                lines.Add(new ReceiptLine(i + 1, line.VariantId, line.Quantity, line.UnitPrice, line.Discount, total, cost));
            }

            var seq = ++work.ReceiptSeq;
            var (subtotal, discountTotal, receiptTotal) = ReceiptMath.Totals(sale.Lines);
            var change = ReceiptMath.Change(receiptTotal, sale.Payments, out _) ?? 0m;
            work.Accepted.Add((pending, new Receipt(
                sale.Id, ReceiptNumbers.Sale(businessDate, seq), ReceiptKind.Sale, _storeId, sale.TerminalId, sale.CashierId,
                sale.CustomerId, null, now, businessDate, lines, subtotal, discountTotal, receiptTotal, sale.Payments, change,
                sale.Note, seq)));
        }
        return work;
    }

    /// <summary>Commits the work behind the store's fence (with other stores' commits, by the silo's ledger writer).</summary>
    private Task WriteAsync(BatchWork work, Func<LedgerStatement>? extra = null) =>
        ledger.CommitAsync(new StoreCommit(
            _tenantId, _storeId,
            new StoreFence(work.PreviousVersion, work.PreviousReceiptSeq, work.ReceiptSeq, work.PreviousRefundSeq, work.RefundSeq,
                work.PreviousToken, work.Token),
            work.Accepted.Select(a => (a.Receipt, a.Pending.Sale.RequestHash)).ToArray(),
            work.Operations,
            work.Movements,
            work.NewBatches,
            work.TouchedBatches.Except(work.NewBatches.Select(n => n.Batch)).ToArray(),
            work.Stock.Select(s => (s.Key, s.Value.Quantity, s.Value.LastUnitCost)).ToArray(),
            extra is null ? [] : [extra()]));

    /// <summary>After a successful commit: memory follows the database.</summary>
    private void Apply(BatchWork work)
    {
        _receiptSeq = work.ReceiptSeq;
        _refundSeq = work.RefundSeq;
        _commitVersion = work.PreviousVersion + 1;
        _commitToken = work.Token;
        foreach (var (variantId, state) in work.Stock)
        {
            state.Batches.RemoveAll(b => b.Remaining == 0);
            _stock[variantId] = state;
        }
    }

    /// <summary>A variant's stock as the last submitted batch touching it left it, else as committed.</summary>
    private StockState? StockAtTip(Guid variantId)
    {
        for (var i = _inFlight.Count - 1; i >= 0; i--)
            if (_inFlight[i].Work.Stock.TryGetValue(variantId, out var submitted))
                return submitted;
        return _stock.GetValueOrDefault(variantId);
    }

    private DateOnly BusinessDate(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, _timeZone).DateTime);

    /// <summary>The committed sequences and fence version from the store row; the stock reloads lazily.</summary>
    private async Task LoadStoreAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            "SELECT receipt_seq, refund_seq, commit_version, commit_token FROM stores WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _storeId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        _exists = await reader.ReadAsync(ct);
        if (_exists)
        {
            _receiptSeq = reader.GetInt64(0);
            _refundSeq = reader.GetInt64(1);
            _commitVersion = reader.GetInt64(2);
            _commitToken = reader.IsDBNull(3) ? null : reader.GetGuid(3);
        }
        _stock.Clear();
        _reloadNeeded = false;
    }

    /// <summary>
    /// The store's time zone and negative-stock policy, asked of the tenant grain (memory) before
    /// every write, so a change to the store or the tenant settings applies to the very next sale.
    /// </summary>
    private async Task RefreshConfigAsync()
    {
        // A read-only call: ReadRetryFilter re-sends it if the tenant grain's silo is leaving.
        var config = await GrainFactory.Reference<ITenantGrain>(_tenantId).GetStoreConfigAsync(_storeId);
        _exists &= config.Exists;
        _timeZone = TimeZoneInfo.TryFindSystemTimeZoneById(config.TimeZone, out var zone) ? zone : TimeZoneInfo.Utc;
        _refuseNegativeStock = config.RefuseNegativeStock;
    }

    /// <summary>Loads the stock of the variants not yet in memory: one query for all of them.</summary>
    private async Task LoadStockAsync(IEnumerable<Guid> variantIds)
    {
        var missing = variantIds.Where(v => !_stock.ContainsKey(v)).Distinct().ToArray();
        if (missing.Length == 0)
            return;
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(Sql.Command(
            "SELECT variant_id, quantity, last_unit_cost FROM stock_levels WHERE tenant_id = $1 AND store_id = $2 AND variant_id = ANY($3)",
            _tenantId, _storeId, missing));
        batch.BatchCommands.Add(Sql.Command(
            """
            SELECT variant_id, id, remaining_qty, unit_cost FROM stock_batches
            WHERE tenant_id = $1 AND store_id = $2 AND variant_id = ANY($3) AND remaining_qty > 0
            ORDER BY variant_id, received_at, id
            """, _tenantId, _storeId, missing));
        await using var reader = await batch.ExecuteReaderAsync();
        var loaded = missing.ToDictionary(v => v, _ => new StockState());
        while (await reader.ReadAsync())
        {
            var state = loaded[reader.GetGuid(0)];
            state.Quantity = reader.GetDecimal(1);
            state.LastUnitCost = reader.IsDBNull(2) ? null : reader.GetDecimal(2);
        }
        await reader.NextResultAsync();
        while (await reader.ReadAsync())
            loaded[reader.GetGuid(0)].Batches.Add(new StockBatch(reader.GetGuid(1), reader.GetDecimal(3)) { Remaining = reader.GetDecimal(2) });

        // Another interleaved load may have filled some in meanwhile; what is in memory is never older.
        foreach (var (variantId, state) in loaded)
            _stock.TryAdd(variantId, state);
    }

    private SaleResult Replay(ReceiptRows.Stored stored, byte[] requestHash) =>
        stored.RequestHash.AsSpan().SequenceEqual(requestHash) && stored.Receipt.StoreId == _storeId
            ? new SaleResult(SaleOutcome.Replayed, stored.Receipt)
            : new SaleResult(SaleOutcome.IdConflict, Detail: $"Receipt id {stored.Receipt.Id} was already used with a different request.");

    private void Remember(ReceiptRows.Stored stored)
    {
        if (!_recent.TryAdd(stored.Receipt.Id, stored))
            return;
        _recentOrder.Enqueue(stored.Receipt.Id);
        while (_recentOrder.Count > RecentReceipts)
            _recent.Remove(_recentOrder.Dequeue());
    }

    private void Answer(PendingSale pending, SaleResult result)
    {
        _unanswered.Remove(pending.Sale.Id);
        pending.Answer.TrySetResult(result);
    }

    private void Answer(IEnumerable<(PendingSale Pending, SaleResult Result)> answers)
    {
        foreach (var (pending, result) in answers)
            Answer(pending, result);
    }

    private void Answer(List<PendingSale> batch, SaleResult result)
    {
        foreach (var pending in batch)
            Answer(pending, result);
    }

}

public static class ReceiptNumbers
{
    /// <summary>R-YYYYMMDD-NNNN: the store's business date and its sale sequence, widening past 9999.</summary>
    public static string Sale(DateOnly businessDate, long sequence) => $"R-{businessDate:yyyyMMdd}-{sequence:D4}";

    public static string Refund(DateOnly businessDate, long sequence) => $"RF-{businessDate:yyyyMMdd}-{sequence:D4}";
}
