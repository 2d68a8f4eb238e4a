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

    // Recently committed receipts, for idempotent replays without a query.
    private readonly Dictionary<Guid, ReceiptRows.Stored> _recent = [];
    private readonly Queue<Guid> _recentOrder = new();

    private sealed record PendingSale(SaleCommand Sale, TaskCompletionSource<SaleResult> Answer);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _storeId = this.GetPrimaryKey(out var tenant);
        _tenantId = Guid.Parse(tenant!);
        var settings = await GrainFactory.GetGrain<ITenantGrain>(_tenantId).GetSettingsAsync();
        await LoadStoreAsync(settings, cancellationToken);
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
                await LoadStoreAsync(await GrainFactory.GetGrain<ITenantGrain>(_tenantId).GetSettingsAsync(), CancellationToken.None);
            await LoadStockAsync(batch.SelectMany(p => p.Sale.Lines.Select(l => l.VariantId)));
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
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
            foreach (var (pending, _) in work.Accepted.Where(a => existing.ContainsKey(a.Pending.Sale.Id)))
                Answer(pending, Replay(existing[pending.Sale.Id], pending.Sale.RequestHash));
            _queue.InsertRange(0, work.Accepted.Where(a => !existing.ContainsKey(a.Pending.Sale.Id)).Select(a => a.Pending));
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

        // Committed: memory follows the database.
        _receiptSeq = work.ReceiptSeq;
        _commitVersion++;
        foreach (var (variantId, state) in work.Stock)
        {
            state.Batches.RemoveAll(b => b.Remaining == 0);
            _stock[variantId] = state;
        }
        foreach (var (pending, receipt) in work.Accepted)
        {
            Remember(new ReceiptRows.Stored(receipt, pending.Sale.RequestHash, _tenantId));
            Answer(pending, new SaleResult(SaleOutcome.Created, receipt));
        }
        Answer(work.Refused);
    }

    private sealed class BatchWork
    {
        public long ReceiptSeq;
        public readonly Dictionary<Guid, StockState> Stock = [];
        public readonly HashSet<StockBatch> TouchedBatches = [];
        public readonly List<(PendingSale Pending, Receipt Receipt)> Accepted = [];
        public readonly List<(PendingSale Pending, SaleResult Result)> Refused = [];
    }

    /// <summary>Numbers and costs the batch on copies of the touched stock; memory is not changed.</summary>
    private BatchWork Prepare(List<PendingSale> batch)
    {
        var work = new BatchWork { ReceiptSeq = _receiptSeq };
        var now = DateTimeOffset.UtcNow;
        var businessDate = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, _timeZone).DateTime);
        foreach (var pending in batch)
        {
            var sale = pending.Sale;
            StockState Working(Guid variantId)
            {
                if (!work.Stock.TryGetValue(variantId, out var state))
                    work.Stock[variantId] = state = _stock.TryGetValue(variantId, out var committed) ? committed.Clone() : new StockState();
                return state;
            }

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
            var touched = new List<StockBatch>();
            for (var i = 0; i < sale.Lines.Count; i++)
            {
                var line = sale.Lines[i];
                var cost = Working(line.VariantId).Take(line.Quantity, line.CatalogCost, touched);
                var (_, total) = ReceiptMath.Line(line.Quantity, line.UnitPrice, line.Discount);
                lines.Add(new ReceiptLine(i + 1, line.VariantId, line.Quantity, line.UnitPrice, line.Discount, total, cost));
            }
            work.TouchedBatches.UnionWith(touched);

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

    /// <summary>One transaction, one round trip: fence, receipts, lines, payments, movements, levels, batches.</summary>
    private async Task WriteAsync(BatchWork work)
    {
        var receipts = work.Accepted.Select(a => a.Receipt).ToArray();
        var hashes = work.Accepted.Select(a => a.Pending.Sale.RequestHash).ToArray();
        var items = receipts.SelectMany(r => r.Items.Select(i => (Receipt: r, Item: i))).ToArray();
        var payments = receipts.SelectMany(r => r.Payments.Select((p, n) => (Receipt: r, LineNo: n + 1, Payment: p))).ToArray();

        await using var connection = await db.OpenConnectionAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await using var batch = new NpgsqlBatch(connection, tx);
        batch.BatchCommands.Add(Command("SELECT store_commit_fence($1, $2, $3, $4, $5, $6, $6)",
            _tenantId, _storeId, _commitVersion, _receiptSeq, work.ReceiptSeq, _refundSeq));
        batch.BatchCommands.Add(Command(
            """
            INSERT INTO receipts (id, tenant_id, store_id, terminal_id, cashier_id, customer_id, kind, sequence_no, receipt_number,
                                  business_date, created_at, subtotal, discount_total, total, change_due, note, request_hash)
            SELECT r.id, $1, $2, r.terminal_id, r.cashier_id, r.customer_id, 'sale', r.seq, r.number,
                   r.business_date, r.created_at, r.subtotal, r.discount_total, r.total, r.change_due, r.note, r.hash
            FROM unnest($3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::bigint[], $8::text[], $9::date[], $10::timestamptz[],
                        $11::numeric[], $12::numeric[], $13::numeric[], $14::numeric[], $15::text[], $16::bytea[])
                 AS r(id, terminal_id, cashier_id, customer_id, seq, number, business_date, created_at,
                      subtotal, discount_total, total, change_due, note, hash)
            """,
            _tenantId, _storeId,
            receipts.Select(r => r.Id).ToArray(), receipts.Select(r => r.TerminalId).ToArray(), receipts.Select(r => r.CashierId).ToArray(),
            receipts.Select(r => r.CustomerId).ToArray(), receipts.Select(r => r.SequenceNo).ToArray(), receipts.Select(r => r.ReceiptNumber).ToArray(),
            receipts.Select(r => r.BusinessDate).ToArray(), receipts.Select(r => r.CreatedAt).ToArray(),
            receipts.Select(r => r.Subtotal).ToArray(), receipts.Select(r => r.DiscountTotal).ToArray(), receipts.Select(r => r.Total).ToArray(),
            receipts.Select(r => r.Change).ToArray(), receipts.Select(r => r.Note).ToArray(), hashes));
        batch.BatchCommands.Add(Command(
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
        batch.BatchCommands.Add(Command(
            """
            INSERT INTO receipt_payments (receipt_id, line_no, tenant_id, method, amount)
            SELECT p.receipt_id, p.line_no, $1, p.method, p.amount
            FROM unnest($2::uuid[], $3::int[], $4::text[], $5::numeric[]) AS p(receipt_id, line_no, method, amount)
            """,
            _tenantId, payments.Select(x => x.Receipt.Id).ToArray(), payments.Select(x => x.LineNo).ToArray(),
            payments.Select(x => x.Payment.Method.ToSql()).ToArray(), payments.Select(x => x.Payment.Amount).ToArray()));
        batch.BatchCommands.Add(Command(
            """
            INSERT INTO stock_movements (tenant_id, store_id, variant_id, kind, quantity, unit_cost, receipt_id, created_at)
            SELECT $1, $2, m.variant_id, 'sale', -m.quantity, m.unit_cost, m.receipt_id, m.created_at
            FROM unnest($3::uuid[], $4::numeric[], $5::numeric[], $6::uuid[], $7::timestamptz[]) AS m(variant_id, quantity, unit_cost, receipt_id, created_at)
            """,
            _tenantId, _storeId, items.Select(x => x.Item.VariantId).ToArray(), items.Select(x => x.Item.Quantity).ToArray(),
            items.Select(x => decimal.Round(x.Item.CostOfGoods / x.Item.Quantity, 4)).ToArray(),
            items.Select(x => x.Receipt.Id).ToArray(), items.Select(x => x.Receipt.CreatedAt).ToArray()));
        batch.BatchCommands.Add(Command(
            """
            INSERT INTO stock_levels (tenant_id, store_id, variant_id, quantity, last_unit_cost, updated_at)
            SELECT $1, $2, s.variant_id, s.quantity, s.last_unit_cost, now()
            FROM unnest($3::uuid[], $4::numeric[], $5::numeric[]) AS s(variant_id, quantity, last_unit_cost)
            ON CONFLICT (tenant_id, store_id, variant_id)
            DO UPDATE SET quantity = EXCLUDED.quantity, last_unit_cost = EXCLUDED.last_unit_cost, updated_at = now()
            """,
            _tenantId, _storeId, work.Stock.Keys.ToArray(), work.Stock.Values.Select(s => s.Quantity).ToArray(),
            work.Stock.Values.Select(s => s.LastUnitCost).ToArray()));
        if (work.TouchedBatches.Count > 0)
            batch.BatchCommands.Add(Command(
                "UPDATE stock_batches b SET remaining_qty = u.remaining FROM unnest($1::uuid[], $2::numeric[]) AS u(id, remaining) WHERE b.id = u.id",
                work.TouchedBatches.Select(b => b.Id).ToArray(), work.TouchedBatches.Select(b => b.Remaining).ToArray()));
        await batch.ExecuteNonQueryAsync();
        await tx.CommitAsync();
    }

    private async Task LoadStoreAsync(TenantSettings settings, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            "SELECT time_zone, allow_negative_stock, receipt_seq, refund_seq, commit_version FROM stores WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _storeId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        _exists = await reader.ReadAsync(ct);
        if (_exists)
        {
            var zone = reader.IsDBNull(0) ? settings.TimeZone : reader.GetString(0);
            _timeZone = TimeZoneInfo.TryFindSystemTimeZoneById(zone, out var tz) ? tz : TimeZoneInfo.Utc;
            _refuseNegativeStock = reader.IsDBNull(1) ? settings.NegativeStock == NegativeStockPolicy.Refuse : !reader.GetBoolean(1);
            _receiptSeq = reader.GetInt64(2);
            _refundSeq = reader.GetInt64(3);
            _commitVersion = reader.GetInt64(4);
        }
        _stock.Clear();
        _reloadNeeded = false;
    }

    /// <summary>Loads the stock of the variants not yet in memory: one query for all of them.</summary>
    private async Task LoadStockAsync(IEnumerable<Guid> variantIds)
    {
        var missing = variantIds.Where(v => !_stock.ContainsKey(v)).Distinct().ToArray();
        if (missing.Length == 0)
            return;
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(Command(
            "SELECT variant_id, quantity, last_unit_cost FROM stock_levels WHERE tenant_id = $1 AND store_id = $2 AND variant_id = ANY($3)",
            _tenantId, _storeId, missing));
        batch.BatchCommands.Add(Command(
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

    private static NpgsqlBatchCommand Command(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        return command;
    }
}

public static class ReceiptNumbers
{
    /// <summary>R-YYYYMMDD-NNNN: the store's business date and its sale sequence, widening past 9999.</summary>
    public static string Sale(DateOnly businessDate, long sequence) => $"R-{businessDate:yyyyMMdd}-{sequence:D4}";

    public static string Refund(DateOnly businessDate, long sequence) => $"RF-{businessDate:yyyyMMdd}-{sequence:D4}";
}
