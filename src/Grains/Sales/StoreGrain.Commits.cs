using JowiShop.Grains.Persistence;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Sales;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Orleans.Concurrency;

namespace JowiShop.Grains.Sales;

/// <summary>
/// The store grain's commit pipeline: sales queue, are prepared as <see cref="StoreBatch"/>es on the
/// tentative state (the last batch submitted), committed by the silo's ledger writer, and answered
/// in order once confirmed; refunds and stock operations take the write slot alone.
/// </summary>
public sealed partial class StoreGrain
{
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
                Telemetry.JowiShopMetrics.BatchTaken(batch.Count, queued: _queue.Count);
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
        var now = DateTimeOffset.UtcNow;
        try
        {
            if (_reloadNeeded && _inFlight.Count == 0)
                await LoadStoreAsync(CancellationToken.None);
            await RefreshConfigAsync();
            if (_exists)
            {
                // One moment for the batch: the VAT version it is priced by is the date its receipts carry.
                now = DateTimeOffset.UtcNow;
                batch = await PriceAsync(batch, BusinessDate(now));
                await LoadStockAsync(batch.SelectMany(p => p.Sale!.Lines.Select(l => l.VariantId)));
            }
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
        if (batch.Count == 0)
            return; // every order refused at pricing

        var work = NextBatch();
        var businessDate = BusinessDate(now);
        foreach (var pending in batch)
            work.Sell(pending.Sale!, now, businessDate, _refuseNegativeStock);
        if (work.Receipts.Count > 0)
        {
            _inFlight.Add(new InFlight(batch, work, WriteAsync(work)));
        }
        else if (_inFlight.Count > 0)
        {
            // Refused (stock) as judged at the tip: they stand once the batch they were judged after commits.
            var tip = _inFlight[^1];
            tip.Sales.AddRange(batch);
            tip.Batch.Refused.AddRange(work.Refused);
        }
        else
        {
            AnswerRefused(work);
        }
    }

    /// <summary>Answers a batch whose commit completed; false if it failed.</summary>
    private async Task<bool> CompleteAsync(InFlight done, bool afterFailure, List<PendingSale> resell)
    {
        var work = done.Batch;
        // Each receipt answers the sale with its id (one unanswered sale per id).
        var accepted = work.Receipts.Select(r => (Pending: _unanswered[r.Receipt.Id], r.Receipt)).ToArray();
        if (done.Commit.IsCompletedSuccessfully)
        {
            Apply(work);
            foreach (var (pending, receipt) in accepted)
            {
                Remember(new ReceiptRows.Stored(receipt, pending.RequestHash, _tenantId));
                Answer(pending, new SaleResult(SaleOutcome.Created, receipt));
            }
            AnswerRefused(work);
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
            var ids = accepted.Select(a => a.Pending.Id).ToArray();
            try
            {
                var existing = await ReceiptRows.LoadAsync(db, _tenantId, ids);
                var taken = await TakenIdsAsync(ids);
                foreach (var (pending, _) in accepted.Where(a => taken.Contains(a.Pending.Id)))
                    Answer(pending, existing.TryGetValue(pending.Id, out var stored)
                        ? Replay(stored, pending.RequestHash)
                        // Another tenant's receipt: the same answer as any reuse of an id, and nothing of it.
                        : new SaleResult(SaleOutcome.IdConflict, Detail: $"Receipt id {pending.Id} was already used with a different request."));
                resell.AddRange(done.Sales.Where(p => !taken.Contains(p.Id)));
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
        logger.LogWarning(e, "Store {StoreId}: commit of {Count} sales failed{Fenced}", _storeId, accepted.Length, fenced ? " (fenced)" : "");
        foreach (var (pending, _) in accepted)
            Answer(pending, new SaleResult(SaleOutcome.Unavailable, Detail: "The sale could not be committed; nothing was recorded. Retry with the same id."));
        // Refusals were judged on stock this batch (or one before it) would have left: judge them again.
        resell.AddRange(work.Refused.Select(r => _unanswered[r.SaleId]));
        if (fenced)
            DeactivateOnIdle();
        return false;
    }

    /// <summary>A batch continuing from the tentative state: the last batch submitted, else the confirmed state.</summary>
    private StoreBatch NextBatch() => new(_storeId, _inFlight.Count > 0 ? _inFlight[^1].Batch.To : _confirmed, StockAtTip);

    /// <summary>Commits the batch behind the store's fence (with other stores' commits, by the silo's ledger writer).</summary>
    private Task WriteAsync(StoreBatch work, LedgerStatement? extra = null) => ledger.CommitAsync(work.ToCommit(_tenantId, extra));

    /// <summary>After a successful commit: memory follows the database.</summary>
    private void Apply(StoreBatch work)
    {
        _confirmed = work.To;
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
            if (_inFlight[i].Batch.Stock.TryGetValue(variantId, out var submitted))
                return submitted;
        return _stock.GetValueOrDefault(variantId);
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
}
