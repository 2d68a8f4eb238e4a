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
public sealed partial class StoreGrain(NpgsqlDataSource db, LedgerWriter ledger, ILogger<StoreGrain> logger) : Grain, IStoreGrain
{
    private const int MaxBatch = 512;
    /// <summary>Batches submitted and not yet committed; more sales wait in the queue.</summary>
    private const int MaxInFlight = 8;
    private const int RecentReceipts = 4096;

    private Guid _tenantId, _storeId;
    private bool _exists;
    private TimeZoneInfo _timeZone = TimeZoneInfo.Utc;
    private bool _refuseNegativeStock;

    // Confirmed state, as of the last successful commit (or load).
    private LedgerPosition _confirmed;
    private readonly Dictionary<Guid, StockState> _stock = [];
    private bool _reloadNeeded;

    // Batches submitted and not yet committed, oldest first; the last one is the tentative state
    // the next batch continues from (none: the confirmed state).
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

    /// <summary>A sale waiting for its answer: priced by its caller, or an order priced at its batch.</summary>
    private sealed class PendingSale(Guid id, byte[] requestHash)
    {
        public Guid Id { get; } = id;
        public byte[] RequestHash { get; } = requestHash;
        /// <summary>When it reached the grain (Stopwatch ticks), for the receipt latency histogram.</summary>
        public long Arrived { get; } = System.Diagnostics.Stopwatch.GetTimestamp();
        public SaleOrder? Order { get; init; }
        /// <summary>The priced sale (null: an order not yet priced).</summary>
        public SaleCommand? Sale { get; set; }
        public TaskCompletionSource<SaleResult> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A submitted batch: its sales (with any refused at the tip after it) and its commit.</summary>
    private sealed record InFlight(List<PendingSale> Sales, StoreBatch Batch, Task Commit);
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
            return Telemetry.JowiShopMetrics.Counted(Replay(stored, sale.RequestHash));
        if (await TwinAsync(sale.Id, sale.RequestHash) is { } shared)
            return Telemetry.JowiShopMetrics.Counted(shared);
        if (!_exists)
            return Telemetry.JowiShopMetrics.Counted(Missing(new SaleResult(SaleOutcome.StoreNotFound)));
        return await QueueAsync(new PendingSale(sale.Id, sale.RequestHash) { Sale = sale });
    }

    /// <summary>The same id is already on its way: its outcome, shared instead of selling twice (null: none is).</summary>
    private async Task<SaleResult?> TwinAsync(Guid id, byte[] requestHash)
    {
        if (!_unanswered.TryGetValue(id, out var twin))
            return null;
        var first = await twin.Answer.Task;
        return first.Outcome == SaleOutcome.Created && first.Receipt is { } r
            ? Replay(new ReceiptRows.Stored(r, twin.RequestHash, _tenantId), requestHash)
            : first;
    }

    private async Task<SaleResult> QueueAsync(PendingSale pending)
    {
        _unanswered[pending.Id] = pending;
        _queue.Add(pending);
        _salesArrived?.TrySetResult();
        if (!_committing)
            _ = CommitQueueAsync();
        return await pending.Answer.Task;
    }

    public Task<decimal?> GetStockLevelAsync(Guid variantId) =>
        Task.FromResult(_stock.TryGetValue(variantId, out var state) ? state.Quantity : (decimal?)null);

    /// <summary>
    /// No live store has this id (never had, or it was closed): answer, then leave memory, so that
    /// made-up ids do not each keep an activation for Orleans:CollectionAge.
    /// </summary>
    private T Missing<T>(T answer)
    {
        DeactivateOnIdle();
        return answer;
    }

    private DateOnly BusinessDate(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, _timeZone).DateTime);

    /// <summary>The committed sequences and fence version from the store's fence row; the stock reloads lazily.</summary>
    private async Task LoadStoreAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            """
            SELECT f.receipt_seq, f.refund_seq, f.commit_version, f.commit_token,
                   (SELECT COALESCE(max(fifo_seq), 0) FROM stock_lots WHERE tenant_id = $1 AND store_id = $2)
            FROM stores s JOIN store_fences f ON f.store_id = s.id
            WHERE s.tenant_id = $1 AND s.id = $2 AND s.deleted_at IS NULL
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _storeId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        _exists = await reader.ReadAsync(ct);
        if (_exists)
        {
            _confirmed = new LedgerPosition(reader.GetInt64(2), reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(3) ? null : reader.GetGuid(3),
                reader.GetInt64(4));
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
        batch.BatchCommands.Add(Sql.Command(
            "SELECT variant_id, quantity, last_unit_cost FROM stock_levels WHERE tenant_id = $1 AND store_id = $2 AND variant_id = ANY($3)",
            _tenantId, _storeId, missing));
        // Open batches in FIFO order, their remainders derived from the level (the view, 0015).
        batch.BatchCommands.Add(Sql.Command(
            """
            SELECT variant_id, id, remaining_qty, unit_cost, fifo_seq FROM stock_batches
            WHERE tenant_id = $1 AND store_id = $2 AND variant_id = ANY($3) AND remaining_qty > 0
            ORDER BY variant_id, fifo_seq
            """, _tenantId, _storeId, missing));
        await using var reader = await batch.ExecuteReaderAsync();
        var loaded = missing.ToDictionary(v => v, _ => new StockState());
        while (await reader.ReadAsync())
        {
            var state = loaded[reader.GetGuid(0)];
            state.Quantity = reader.GetDecimal(1);
            state.Stored = true;
            state.LastUnitCost = reader.IsDBNull(2) ? null : reader.GetDecimal(2);
        }
        await reader.NextResultAsync();
        while (await reader.ReadAsync())
            loaded[reader.GetGuid(0)].Batches.Add(new StockBatch(reader.GetGuid(1), reader.GetDecimal(3), reader.GetInt64(4)) { Remaining = reader.GetDecimal(2) });

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
        _unanswered.Remove(pending.Id);
        if (pending.Answer.TrySetResult(result))
            Telemetry.JowiShopMetrics.SaleAnswered(result.Outcome, pending.Arrived);
    }

    /// <summary>Answers the sales the batch refused (each by its id: one unanswered sale per id).</summary>
    private void AnswerRefused(StoreBatch batch)
    {
        foreach (var (saleId, result) in batch.Refused)
            if (_unanswered.TryGetValue(saleId, out var pending))
                Answer(pending, result);
    }

    private void Answer(List<PendingSale> batch, SaleResult result)
    {
        foreach (var pending in batch)
            Answer(pending, result);
    }
}
