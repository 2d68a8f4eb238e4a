using JowiShop.Grains.Persistence;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Sales;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Orleans.Concurrency;

namespace JowiShop.Grains.Sales;

/// <summary>
/// A store's receipts and stock. Sales queue while a commit is in flight and are committed
/// together in the next transaction (group commit): numbered from the last committed sequence,
/// taken out of stock FIFO on working copies, written with multi-row inserts behind the store's
/// commit fence, and only then applied to memory and answered. A failed commit answers every
/// sale of its batch Unavailable, consumes no number, and makes the grain reload from PostgreSQL.
/// </summary>
[Reentrant]
public sealed class StoreGrain(NpgsqlDataSource db, ILogger<StoreGrain> logger) : Grain, IStoreGrain
{
    private const int MaxBatch = 512;
    private const int RecentReceipts = 4096;

    private Guid _tenantId, _storeId;
    private bool _exists;
    private TimeZoneInfo _timeZone = TimeZoneInfo.Utc;
    private bool _refuseNegativeStock;

    // Committed state, as of the last successful commit (or load).
    private long _receiptSeq, _refundSeq, _commitVersion;
    private readonly Dictionary<Guid, StockState> _stock = [];
    private bool _reloadNeeded;

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
            return new SaleResult(SaleOutcome.StoreNotFound);

        var pending = new PendingSale(sale, new TaskCompletionSource<SaleResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        _unanswered[sale.Id] = pending;
        _queue.Add(pending);
        if (!_committing)
            _ = CommitQueueAsync();
        return await pending.Answer.Task;
    }

    public Task<decimal?> GetStockLevelAsync(Guid variantId) =>
        Task.FromResult(_stock.TryGetValue(variantId, out var state) ? state.Quantity : (decimal?)null);

    public Task<StockResult> ReceiveAsync(StockReceiving receiving) =>
        StockOperationAsync(receiving.Id, "receiving", receiving.SupplierReference, receiving.Lines.Select(l => l.VariantId), work =>
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var line in receiving.Lines)
                work.Put(line.VariantId, line.Quantity, line.UnitCost, "receiving", "receiving", null, receiving.SupplierReference, now);
            return null;
        });

    public Task<StockResult> AdjustAsync(StockAdjustment adjustment) =>
        StockOperationAsync(adjustment.Id, "adjustment", adjustment.Note, adjustment.Lines.Select(l => l.VariantId), work =>
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

    public async Task<StockResult> SendTransferAsync(Guid transferId, Guid toStoreId, IReadOnlyList<TransferLine> lines)
    {
        var lots = new List<TransferredLot>();
        var result = await StockOperationAsync(transferId, "transfer_out", $"to {toStoreId}", lines.Select(l => l.VariantId), work =>
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var line in lines)
            {
                if (_refuseNegativeStock && work.Working(line.VariantId).Quantity < line.Quantity)
                    return (StockOutcome.InsufficientStock, $"Variant {line.VariantId}: {line.Quantity} to send, {work.Working(line.VariantId).Quantity} on hand.");
                work.Take(line.VariantId, line.Quantity, line.CatalogCost, "transfer_out", null, $"transfer {transferId}", now, lots);
            }
            return null;
        }, batch => batch.BatchCommands.Add(Sql.Command(
            "INSERT INTO stock_transfers (id, tenant_id, from_store_id, to_store_id, lots, sent_at) VALUES ($1, $2, $3, $4, $5::jsonb, now())",
            transferId, _tenantId, _storeId, toStoreId, System.Text.Json.JsonSerializer.Serialize(lots))));
        if (result.Outcome == StockOutcome.AlreadyDone)
            lots = await SentLotsAsync(transferId);
        return result with { Lots = lots };
    }

    public Task<StockResult> ReceiveTransferAsync(Guid transferId, Guid fromStoreId, IReadOnlyList<TransferredLot> lots) =>
        StockOperationAsync(transferId, "transfer_in", $"from {fromStoreId}", lots.Select(l => l.VariantId), work =>
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var lot in lots)
                work.Put(lot.VariantId, lot.Quantity, lot.UnitCost, "transfer", "transfer_in", null, $"transfer {transferId}", now);
            return null;
        }, batch => batch.BatchCommands.Add(Sql.Command(
            "UPDATE stock_transfers SET received_at = now() WHERE id = $1 AND tenant_id = $2 AND to_store_id = $3 AND received_at IS NULL",
            transferId, _tenantId, _storeId)));

    public async Task<SaleResult> RefundAsync(RefundCommand refund)
    {
        await _writeSlot.WaitAsync();
        try
        {
            if (_reloadNeeded)
                await LoadStoreAsync(CancellationToken.None);
            await RefreshConfigAsync();
            if (!_exists)
                return new SaleResult(SaleOutcome.StoreNotFound);

            var stored = await ReceiptRows.LoadAsync(db, _tenantId, [refund.Id, refund.OriginalReceiptId]);
            if (stored.TryGetValue(refund.Id, out var existing))
                return Replay(existing, refund.RequestHash);
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
                // The refund is valued and restocked at what the sale charged and cost, per unit.
                var unitValue = sold.Sum(i => i.LineTotal) / soldQuantity;
                var unitCost = sold.Sum(i => i.CostOfGoods) / soldQuantity;
                var value = ReceiptMath.Money(unitValue * line.Quantity);
                var cost = decimal.Round(unitCost * line.Quantity, 4);
                lines.Add(new ReceiptLine(index + 1, line.VariantId, line.Quantity, sold[0].UnitPrice, ReceiptMath.Money(sold[0].UnitPrice * line.Quantity) - value, value, cost));
                work.Put(line.VariantId, line.Quantity, decimal.Round(unitCost, 4), "refund", "refund", refund.Id, $"refund of {original.Receipt.ReceiptNumber}", now);
            }

            var total = lines.Sum(l => l.LineTotal);
            // No payments given: the refund is paid back in cash.
            IReadOnlyList<Payment> payments = refund.Payments.Count == 0 ? [new Payment(PaymentMethod.Cash, total)] : refund.Payments;
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
                _reloadNeeded = true;
                if (e is PostgresException { SqlState: "JW001" })
                    DeactivateOnIdle();
                logger.LogWarning(e, "Store {StoreId}: refund {RefundId} failed", _storeId, refund.Id);
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
    /// Runs a stock operation alone, behind the fence, once per id: a retry of an id already
    /// applied answers AlreadyDone without moving stock again.
    /// </summary>
    private async Task<StockResult> StockOperationAsync(Guid id, string kind, string? reference, IEnumerable<Guid> variantIds,
        Func<BatchWork, (StockOutcome Outcome, string Detail)?> prepare, Action<NpgsqlBatch>? extra = null)
    {
        await _writeSlot.WaitAsync();
        try
        {
            if (_reloadNeeded)
                await LoadStoreAsync(CancellationToken.None);
            await RefreshConfigAsync();
            if (!_exists)
                return new StockResult(StockOutcome.StoreNotFound, []);
            var variants = variantIds.Distinct().ToArray();
            await LoadStockAsync(variants);
            var work = new BatchWork(this);
            work.Operations.Add((id, kind, reference));
            if (prepare(work) is { } refused)
                return new StockResult(refused.Outcome, [], refused.Detail);
            try
            {
                await WriteAsync(work, extra);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName is "stock_operations_pkey" or "stock_transfers_pkey")
            {
                return new StockResult(StockOutcome.AlreadyDone, Levels(variants));
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                _reloadNeeded = true;
                if (e is PostgresException { SqlState: "JW001" })
                    DeactivateOnIdle();
                logger.LogWarning(e, "Store {StoreId}: {Kind} {Id} failed", _storeId, kind, id);
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

    private async Task<List<TransferredLot>> SentLotsAsync(Guid transferId)
    {
        await using var cmd = db.CreateCommand("SELECT lots::text FROM stock_transfers WHERE id = $1 AND tenant_id = $2 AND from_store_id = $3");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = transferId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _storeId });
        var json = await cmd.ExecuteScalarAsync() as string;
        return json is null ? [] : System.Text.Json.JsonSerializer.Deserialize<List<TransferredLot>>(json) ?? [];
    }

    /// <summary>Commits queued sales, one batch at a time, until the queue is empty. Runs on the grain's scheduler.</summary>
    private async Task CommitQueueAsync()
    {
        _committing = true;
        try
        {
            while (_queue.Count > 0)
            {
                var batch = _queue.Take(MaxBatch).ToList();
                _queue.RemoveRange(0, batch.Count);
                await _writeSlot.WaitAsync();
                try
                {
                    await CommitBatchAsync(batch);
                }
                catch (Exception e)
                {
                    // A bug, not an outage: never leave a till waiting for an answer that will not come.
                    logger.LogError(e, "Store {StoreId}: batch of {Count} sales failed unexpectedly", _storeId, batch.Count);
                    _reloadNeeded = true;
                    Answer(batch, new SaleResult(SaleOutcome.Unavailable, Detail: "The sale could not be committed; nothing was recorded."));
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

    private async Task CommitBatchAsync(List<PendingSale> batch)
    {
        try
        {
            if (_reloadNeeded)
                await LoadStoreAsync(CancellationToken.None);
            await RefreshConfigAsync();
            await LoadStockAsync(batch.SelectMany(p => p.Sale.Lines.Select(l => l.VariantId)));
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OrleansException)
        {
            logger.LogWarning(e, "Store {StoreId}: could not load state; failing {Count} sales", _storeId, batch.Count);
            Answer(batch, new SaleResult(SaleOutcome.Unavailable, Detail: "The store's data could not be loaded."));
            return;
        }

        if (!_exists)
        {
            Answer(batch, new SaleResult(SaleOutcome.StoreNotFound));
            return;
        }

        var work = Prepare(batch);
        if (work.Accepted.Count == 0)
        {
            Answer(work.Refused);
            return;
        }

        try
        {
            await WriteAsync(work);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "receipts_pkey")
        {
            // An id committed before this activation's memory (a retry after failover, or an old
            // receipt): answer those from the database, and sell the rest in the next batch.
            var ids = work.Accepted.Select(a => a.Pending.Sale.Id).ToArray();
            var existing = await ReceiptRows.LoadAsync(db, _tenantId, ids);
            var taken = await TakenIdsAsync(ids);
            foreach (var (pending, _) in work.Accepted.Where(a => taken.Contains(a.Pending.Sale.Id)))
                Answer(pending, existing.TryGetValue(pending.Sale.Id, out var stored)
                    ? Replay(stored, pending.Sale.RequestHash)
                    // Another tenant's receipt: the same answer as any reuse of an id, and nothing of it.
                    : new SaleResult(SaleOutcome.IdConflict, Detail: $"Receipt id {pending.Sale.Id} was already used with a different request."));
            _queue.InsertRange(0, work.Accepted.Where(a => !taken.Contains(a.Pending.Sale.Id)).Select(a => a.Pending));
            Answer(work.Refused);
            return;
        }
        catch (Exception e)
        {
            // Commit outcome unknown or refused (database down, fenced by another activation):
            // nothing in memory changed; reload from the database before the next batch.
            var fenced = e is PostgresException { SqlState: "JW001" };
            logger.LogWarning(e, "Store {StoreId}: commit of {Count} sales failed{Fenced}", _storeId, work.Accepted.Count, fenced ? " (fenced)" : "");
            _reloadNeeded = true;
            foreach (var (pending, _) in work.Accepted)
                Answer(pending, new SaleResult(SaleOutcome.Unavailable, Detail: "The sale could not be committed; nothing was recorded. Retry with the same id."));
            Answer(work.Refused);
            if (fenced)
                DeactivateOnIdle();
            return;
        }

        Apply(work);
        foreach (var (pending, receipt) in work.Accepted)
        {
            Remember(new ReceiptRows.Stored(receipt, pending.Sale.RequestHash, _tenantId));
            Answer(pending, new SaleResult(SaleOutcome.Created, receipt));
        }
        Answer(work.Refused);
    }

    /// <summary>What one commit writes: receipts, and stock changes on copies of the committed stock.</summary>
    private sealed class BatchWork(StoreGrain store)
    {
        public long ReceiptSeq = store._receiptSeq;
        public long RefundSeq = store._refundSeq;
        public readonly Dictionary<Guid, StockState> Stock = [];
        public readonly HashSet<StockBatch> TouchedBatches = [];
        public readonly List<NewBatch> NewBatches = [];
        public readonly List<Movement> Movements = [];
        public readonly List<(PendingSale Pending, Receipt Receipt)> Accepted = [];
        public readonly List<(PendingSale Pending, SaleResult Result)> Refused = [];
        public readonly List<(Guid Id, string Kind, string? Reference)> Operations = [];

        public StockState Working(Guid variantId)
        {
            if (!Stock.TryGetValue(variantId, out var state))
                Stock[variantId] = state = store._stock.TryGetValue(variantId, out var committed) ? committed.Clone() : new StockState();
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
            Movements.Add(new Movement(variantId, kind, -quantity, quantity == 0 ? null : decimal.Round(cost / quantity, 4), receiptId, reference, at));
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
            NewBatches.Add(new NewBatch(batch, variantId, source, quantity, reference, at));
            Movements.Add(new Movement(variantId, movementKind, quantity, unitCost, receiptId, reference, at));
        }
    }

    private sealed record NewBatch(StockBatch Batch, Guid VariantId, string Source, decimal Received, string? Reference, DateTimeOffset At);

    private sealed record Movement(Guid VariantId, string Kind, decimal Quantity, decimal? UnitCost, Guid? ReceiptId, string? Reference, DateTimeOffset At);

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

    /// <summary>One transaction, one round trip: fence, receipts, lines, payments, operations, movements, batches, levels.</summary>
    private async Task WriteAsync(BatchWork work, Action<NpgsqlBatch>? extra = null)
    {
        var receipts = work.Accepted.Select(a => a.Receipt).ToArray();
        var hashes = work.Accepted.Select(a => a.Pending.Sale.RequestHash).ToArray();
        var items = receipts.SelectMany(r => r.Items.Select(i => (Receipt: r, Item: i))).ToArray();
        var payments = receipts.SelectMany(r => r.Payments.Select((p, n) => (Receipt: r, LineNo: n + 1, Payment: p))).ToArray();

        await using var connection = await db.OpenConnectionAsync();
        // No explicit transaction: Npgsql ends a batch with one Sync, so PostgreSQL runs all of
        // it as one implicit transaction and commits it before answering (one round trip, not
        // two); any failing statement rolls all of it back.
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(Sql.Command("SELECT store_commit_fence($1, $2, $3, $4, $5, $6, $7)",
            _tenantId, _storeId, _commitVersion, _receiptSeq, work.ReceiptSeq, _refundSeq, work.RefundSeq));
        if (receipts.Length > 0)
        {
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO receipts (id, tenant_id, store_id, terminal_id, cashier_id, customer_id, kind, refund_of, sequence_no, receipt_number,
                                      business_date, created_at, subtotal, discount_total, total, change_due, note, request_hash)
                SELECT r.id, $1, $2, r.terminal_id, r.cashier_id, r.customer_id, r.kind, r.refund_of, r.seq, r.number,
                       r.business_date, r.created_at, r.subtotal, r.discount_total, r.total, r.change_due, r.note, r.hash
                FROM unnest($3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::uuid[], $9::bigint[], $10::text[], $11::date[],
                            $12::timestamptz[], $13::numeric[], $14::numeric[], $15::numeric[], $16::numeric[], $17::text[], $18::bytea[])
                     AS r(id, terminal_id, cashier_id, customer_id, kind, refund_of, seq, number, business_date, created_at,
                          subtotal, discount_total, total, change_due, note, hash)
                """,
                _tenantId, _storeId,
                receipts.Select(r => r.Id).ToArray(), receipts.Select(r => r.TerminalId).ToArray(), receipts.Select(r => r.CashierId).ToArray(),
                receipts.Select(r => r.CustomerId).ToArray(), receipts.Select(r => r.Kind == ReceiptKind.Refund ? "refund" : "sale").ToArray(),
                receipts.Select(r => r.RefundOf).ToArray(), receipts.Select(r => r.SequenceNo).ToArray(), receipts.Select(r => r.ReceiptNumber).ToArray(),
                receipts.Select(r => r.BusinessDate).ToArray(), receipts.Select(r => r.CreatedAt).ToArray(),
                receipts.Select(r => r.Subtotal).ToArray(), receipts.Select(r => r.DiscountTotal).ToArray(), receipts.Select(r => r.Total).ToArray(),
                receipts.Select(r => r.Change).ToArray(), receipts.Select(r => r.Note).ToArray(), hashes));
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO receipt_items (receipt_id, line_no, tenant_id, variant_id, quantity, unit_price, discount, line_total, cost_of_goods)
                SELECT i.receipt_id, i.line_no, $1, i.variant_id, i.quantity, i.unit_price, i.discount, i.line_total, i.cost
                FROM unnest($2::uuid[], $3::int[], $4::uuid[], $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[])
                     AS i(receipt_id, line_no, variant_id, quantity, unit_price, discount, line_total, cost)
                """,
                _tenantId, items.Select(x => x.Receipt.Id).ToArray(), items.Select(x => x.Item.LineNo).ToArray(),
                items.Select(x => x.Item.VariantId).ToArray(), items.Select(x => x.Item.Quantity).ToArray(),
                items.Select(x => x.Item.UnitPrice).ToArray(), items.Select(x => x.Item.Discount).ToArray(),
                items.Select(x => x.Item.LineTotal).ToArray(), items.Select(x => x.Item.CostOfGoods).ToArray()));
            if (payments.Length > 0)
                batch.BatchCommands.Add(Sql.Command(
                    """
                    INSERT INTO receipt_payments (receipt_id, line_no, tenant_id, method, amount)
                    SELECT p.receipt_id, p.line_no, $1, p.method, p.amount
                    FROM unnest($2::uuid[], $3::int[], $4::text[], $5::numeric[]) AS p(receipt_id, line_no, method, amount)
                    """,
                    _tenantId, payments.Select(x => x.Receipt.Id).ToArray(), payments.Select(x => x.LineNo).ToArray(),
                    payments.Select(x => x.Payment.Method.ToSql()).ToArray(), payments.Select(x => x.Payment.Amount).ToArray()));
        }
        foreach (var (id, kind, reference) in work.Operations)
            batch.BatchCommands.Add(Sql.Command("INSERT INTO stock_operations (id, tenant_id, store_id, kind, reference) VALUES ($1, $2, $3, $4, $5)",
                id, _tenantId, _storeId, kind, reference));
        if (work.Movements.Count > 0)
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO stock_movements (tenant_id, store_id, variant_id, kind, quantity, unit_cost, receipt_id, reference, created_at)
                SELECT $1, $2, m.variant_id, m.kind, m.quantity, m.unit_cost, m.receipt_id, m.reference, m.created_at
                FROM unnest($3::uuid[], $4::text[], $5::numeric[], $6::numeric[], $7::uuid[], $8::text[], $9::timestamptz[])
                     AS m(variant_id, kind, quantity, unit_cost, receipt_id, reference, created_at)
                """,
                _tenantId, _storeId, work.Movements.Select(m => m.VariantId).ToArray(), work.Movements.Select(m => m.Kind).ToArray(),
                work.Movements.Select(m => m.Quantity).ToArray(), work.Movements.Select(m => m.UnitCost).ToArray(),
                work.Movements.Select(m => m.ReceiptId).ToArray(), work.Movements.Select(m => m.Reference).ToArray(),
                work.Movements.Select(m => m.At).ToArray()));
        if (work.NewBatches.Count > 0)
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO stock_batches (id, tenant_id, store_id, variant_id, source, received_qty, remaining_qty, unit_cost, supplier_ref, received_at)
                SELECT b.id, $1, $2, b.variant_id, b.source, b.received, b.remaining, b.unit_cost, b.reference, b.received_at
                FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::numeric[], $7::numeric[], $8::numeric[], $9::text[], $10::timestamptz[])
                     AS b(id, variant_id, source, received, remaining, unit_cost, reference, received_at)
                """,
                _tenantId, _storeId, work.NewBatches.Select(b => b.Batch.Id).ToArray(), work.NewBatches.Select(b => b.VariantId).ToArray(),
                work.NewBatches.Select(b => b.Source).ToArray(), work.NewBatches.Select(b => b.Received).ToArray(),
                work.NewBatches.Select(b => b.Batch.Remaining).ToArray(), work.NewBatches.Select(b => b.Batch.UnitCost).ToArray(),
                work.NewBatches.Select(b => b.Reference).ToArray(), work.NewBatches.Select(b => b.At).ToArray()));
        var updatedBatches = work.TouchedBatches.Where(b => !work.NewBatches.Any(n => n.Batch == b)).ToArray();
        if (updatedBatches.Length > 0)
            batch.BatchCommands.Add(Sql.Command(
                "UPDATE stock_batches b SET remaining_qty = u.remaining FROM unnest($1::uuid[], $2::numeric[]) AS u(id, remaining) WHERE b.id = u.id",
                updatedBatches.Select(b => b.Id).ToArray(), updatedBatches.Select(b => b.Remaining).ToArray()));
        if (work.Stock.Count > 0)
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO stock_levels (tenant_id, store_id, variant_id, quantity, last_unit_cost, updated_at)
                SELECT $1, $2, s.variant_id, s.quantity, s.last_unit_cost, now()
                FROM unnest($3::uuid[], $4::numeric[], $5::numeric[]) AS s(variant_id, quantity, last_unit_cost)
                ON CONFLICT (tenant_id, store_id, variant_id)
                DO UPDATE SET quantity = EXCLUDED.quantity, last_unit_cost = EXCLUDED.last_unit_cost, updated_at = now()
                """,
                _tenantId, _storeId, work.Stock.Keys.ToArray(), work.Stock.Values.Select(s => s.Quantity).ToArray(),
                work.Stock.Values.Select(s => s.LastUnitCost).ToArray()));
        extra?.Invoke(batch);
        await batch.ExecuteNonQueryAsync();
    }

    /// <summary>After a successful commit: memory follows the database.</summary>
    private void Apply(BatchWork work)
    {
        _receiptSeq = work.ReceiptSeq;
        _refundSeq = work.RefundSeq;
        _commitVersion++;
        foreach (var (variantId, state) in work.Stock)
        {
            state.Batches.RemoveAll(b => b.Remaining == 0);
            _stock[variantId] = state;
        }
    }

    private DateOnly BusinessDate(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, _timeZone).DateTime);

    /// <summary>The committed sequences and fence version from the store row; the stock reloads lazily.</summary>
    private async Task LoadStoreAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            "SELECT receipt_seq, refund_seq, commit_version FROM stores WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _storeId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        _exists = await reader.ReadAsync(ct);
        if (_exists)
        {
            _receiptSeq = reader.GetInt64(0);
            _refundSeq = reader.GetInt64(1);
            _commitVersion = reader.GetInt64(2);
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
