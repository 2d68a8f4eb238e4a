using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Persistence;
using JowiShop.Grains.Telemetry;
using Npgsql;

namespace JowiShop.Grains.Sales;

/// <summary>
/// The silo's writer of store commits. A store grain submits each batch of sales as it is ready,
/// numbered from the batch before it, without waiting for that one's commit (see StoreGrain); the
/// writer puts every commit waiting at that moment, of all the stores in its lane, into one
/// transaction with one statement per table, so PostgreSQL's cost per commit and per statement is
/// paid once for all of them. A store's commits in one transaction share one fence row, from what
/// the first continued from to what the last leaves, so they apply in order or not at all.
/// <para>
/// A lane may keep more than one transaction in flight (`Ledger:TransactionsInFlight`): the next
/// one is sent while the one before commits, so neither the round trip nor this process's work
/// waits for the other's commit. The fence statement comes first and locks its stores' fence rows
/// in store order (migration 0016), so PostgreSQL itself orders one store's chained commits: the
/// later transaction waits for the earlier one's row and sees its outcome. Outcomes are judged in
/// order: a transaction's failure is looked at only once the one before it is settled.
/// </para>
/// <para>
/// A transaction the database refuses (a fenced store, a reused id, any failing statement) is
/// rolled back whole; the writer then writes each part alone, in order, so one store's refusal
/// stays its own, and fails the commits queued behind a failed one at once (they continue from a
/// commit that did not happen). A transaction sent while another was in flight is rewritten the
/// same way even when it held one part (after one whole resend when the one before committed
/// cleanly): its fence may have been judged before the commit it continues from landed, or against
/// that commit's rolled-back first attempt. One transaction in flight is the default: on the 2-core
/// benchmark machine two made each transaction half as large and cost more CPU per receipt than
/// they saved (docs/performance.md); machines where PostgreSQL has cores to spare may set more. A deadlock or
/// serialization failure is retried whole (ordered fences leave no deadlock path between ledger
/// transactions; the retry covers what else may lock a row). A lost connection leaves every
/// part's outcome unknown, as for a store writing alone.
/// </para>
/// </summary>
public sealed class LedgerWriter
{
    /// <summary>Lanes; a store always writes through the same lane, in order.</summary>
    public const int DefaultLanes = 1;
    /// <summary>Transactions a lane has in flight at once.</summary>
    public const int DefaultTransactionsInFlight = 1;
    /// <summary>Receipts (or movements) per transaction, so one transaction stays short.</summary>
    private const int MaxRows = 2048;
    /// <summary>Failed commits remembered for the ones queued behind them; more than this is a flood of failures, forgotten.</summary>
    private const int MaxFailedTokens = 10_000;
    /// <summary>Attempts of a transaction PostgreSQL aborted as a deadlock victim or serialization failure.</summary>
    private const int MaxAttempts = 5;

    private readonly NpgsqlDataSource _db;
    private readonly Lane[] _lanes;
    // Stores are dealt to lanes in turn as they first commit, so even two stores use two lanes
    // (one entry per store ever seen on this silo).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, int> _laneOf = new();
    private int _storesSeen;

    public LedgerWriter(NpgsqlDataSource db, int lanes = DefaultLanes, int transactionsInFlight = DefaultTransactionsInFlight)
    {
        _db = db;
        _lanes = Enumerable.Range(0, Math.Max(1, lanes)).Select(_ => new Lane(Math.Max(1, transactionsInFlight))).ToArray();
    }

    private sealed record Part(StoreCommit Commit, TaskCompletionSource Done);

    /// <summary>How a transaction ended: clean if its first attempt committed, so nothing after it was judged against a state that did not last.</summary>
    private readonly record struct Settled(bool Clean);

    private sealed class Lane(int transactionsInFlight)
    {
        public readonly Queue<Part> Waiting = new();
        public bool Running;
        // Tokens of commits that failed: a commit continuing from one cannot pass its fence.
        public readonly HashSet<Guid> Failed = [];
        public readonly SemaphoreSlim Slots = new(transactionsInFlight, transactionsInFlight);
        // The last transaction sent: the next one's outcome is judged after it settles.
        public Task<Settled> Last = Task.FromResult(new Settled(true));
    }

    /// <summary>
    /// Completes once the commit is durable; throws what refused it (or the lost connection). A
    /// store's commits are written in the order given.
    /// </summary>
    public Task CommitAsync(StoreCommit commit)
    {
        var part = new Part(commit, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var lane = _lanes.Length == 1 ? _lanes[0] : _lanes[_laneOf.GetOrAdd(commit.StoreId, _ => (int)((uint)Interlocked.Increment(ref _storesSeen) % (uint)_lanes.Length))];
        bool start;
        lock (lane)
        {
            lane.Waiting.Enqueue(part);
            start = !lane.Running;
            lane.Running = true;
        }
        if (start)
            _ = Task.Run(() => RunAsync(lane)); // off the calling grain's scheduler: a lane serves many stores
        return part.Done.Task;
    }

    private async Task RunAsync(Lane lane)
    {
        while (true)
        {
            // Wait for a free slot before taking what is waiting: commits arriving meanwhile join this transaction.
            await lane.Slots.WaitAsync();
            var parts = new List<Part>();
            var doomed = new List<Part>();
            lock (lane)
            {
                var rows = 0;
                var lastOfStore = new Dictionary<Guid, StoreFence>();
                while (lane.Waiting.TryPeek(out var next))
                {
                    if (ContinuesFromFailed(lane, next.Commit))
                    {
                        doomed.Add(lane.Waiting.Dequeue());
                        continue;
                    }
                    if (parts.Count > 0 && (rows + next.Commit.Size > MaxRows || !Chains(lastOfStore, next.Commit)))
                        break;
                    parts.Add(lane.Waiting.Dequeue());
                    lastOfStore[next.Commit.StoreId] = next.Commit.Fence;
                    rows += next.Commit.Size;
                }
                if (parts.Count == 0 && doomed.Count == 0)
                {
                    lane.Slots.Release();
                    lane.Running = false;
                    return;
                }
            }
            foreach (var part in doomed)
                Refuse(part, Fenced(part.Commit));
            if (parts.Count == 0)
            {
                lane.Slots.Release();
                continue;
            }
            var before = lane.Last;
            var settled = WriteAsync(lane, parts, before);
            lane.Last = settled;
            _ = settled.ContinueWith(_ => lane.Slots.Release(), TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Whether a commit continues from the last one of its store already in the transaction (or is
    /// its store's first): only then can they share one fence row. A commit that does not chain
    /// waits for the next transaction, where the fence judges it.
    /// </summary>
    private static bool Chains(Dictionary<Guid, StoreFence> lastOfStore, StoreCommit next) =>
        !lastOfStore.TryGetValue(next.StoreId, out var last)
        || (next.Fence.PreviousToken == last.Token && next.Fence.Version == last.Version + 1
            && next.Fence.PreviousReceiptSeq == last.ReceiptSeq && next.Fence.PreviousRefundSeq == last.RefundSeq);

    /// <summary>
    /// Writes the parts in one transaction and answers each of them once the transaction before
    /// (<paramref name="before"/>) has settled; never throws.
    /// </summary>
    private async Task<Settled> WriteAsync(Lane lane, List<Part> parts, Task<Settled> before)
    {
        // Overlapped: the transaction before was still in flight when this one was sent.
        var overlapped = !before.IsCompleted;
        Exception? error = null;
        var attempts = 0;
        try
        {
            attempts = await ExecuteAsync(parts.Select(p => p.Commit).ToList());
        }
        catch (Exception e)
        {
            error = e;
        }
        var previous = await before;
        if (overlapped && previous.Clean && error is PostgresException { SqlState: "JW001" })
        {
            // Its fence may have run before the commit it continues from, which has now landed:
            // once more whole before splitting it (a 50-store transaction is not 50 round trips).
            JowiShopMetrics.FenceResent();
            try
            {
                await ExecuteAsync(parts.Select(p => p.Commit).ToList());
                error = null;
                attempts = 2;
            }
            catch (Exception e)
            {
                error = e;
            }
        }
        if (error is null)
        {
            foreach (var part in parts)
                part.Done.TrySetResult();
            return new Settled(attempts == 1);
        }
        if (error is PostgresException refused && !DatabaseFailures.IsTransient(refused)
            && (parts.Count > 1 || (overlapped && !previous.Clean) || (overlapped && refused.SqlState == "JW001")))
        {
            // A statement was refused and the transaction rolled back: find whose it was, now that
            // everything before it is settled.
            foreach (var part in parts)
            {
                bool doomed;
                lock (lane)
                    doomed = ContinuesFromFailed(lane, part.Commit);
                if (doomed)
                    Refuse(part, Fenced(part.Commit));
                else
                    await WriteAsync(lane, [part], Task.FromResult(new Settled(true)));
            }
            return new Settled(false);
        }
        lock (lane)
            foreach (var part in parts)
                Remember(lane, part.Commit.Fence.Token);
        foreach (var part in parts)
            Refuse(part, error);
        return new Settled(false);
    }

    /// <summary>A part's final failure: answered and counted (by code) once, after any split.</summary>
    private static void Refuse(Part part, Exception error)
    {
        if (part.Done.TrySetException(error))
            JowiShopMetrics.CommitRefused(error);
    }

    /// <summary>
    /// Whether the commit continues from one that failed, so it cannot pass its fence either; if
    /// so it counts as failed too, for the one behind it. Under the lane's lock.
    /// </summary>
    private static bool ContinuesFromFailed(Lane lane, StoreCommit commit)
    {
        if (commit.Fence.PreviousToken is not { } previous || !lane.Failed.Remove(previous))
            return false;
        Remember(lane, commit.Fence.Token);
        return true;
    }

    private static void Remember(Lane lane, Guid failedToken)
    {
        if (lane.Failed.Count >= MaxFailedTokens)
            lane.Failed.Clear(); // forgotten ones are still refused by the database's fence, one round trip later
        lane.Failed.Add(failedToken);
    }

    /// <summary>What the fence would have said: the commit continues from one that failed.</summary>
    private static PostgresException Fenced(StoreCommit commit) =>
        new($"store {commit.StoreId} commit fenced: the commit it continues from failed", "ERROR", "ERROR", "JW001");

    /// <summary>
    /// One transaction, one round trip (see <see cref="LedgerStatements"/>). No explicit
    /// transaction: Npgsql ends a batch with one Sync, so PostgreSQL runs all of it as one implicit
    /// transaction and commits it before answering; any failing statement rolls all of it back.
    /// A deadlock victim or serialization failure rolled back all of it too, so it is sent again.
    /// Returns the attempts it took.
    /// </summary>
    private async Task<int> ExecuteAsync(List<StoreCommit> commits)
    {
        for (var attempt = 1; ; attempt++)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                await using var connection = await _db.OpenConnectionAsync();
                await using var batch = new NpgsqlBatch(connection);
                LedgerStatements.Add(batch, commits);
                await batch.ExecuteNonQueryAsync();
                JowiShopMetrics.TransactionCommitted(started, commits);
                return attempt;
            }
            catch (PostgresException e) when (attempt < MaxAttempts
                && e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                JowiShopMetrics.TransactionFailed(started, e, retried: true);
            }
            catch (Exception e) when (JowiShopMetrics.TransactionFailed(started, e, retried: false))
            {
                // never: the filter records the failure and lets it go on
            }
        }
    }
}
