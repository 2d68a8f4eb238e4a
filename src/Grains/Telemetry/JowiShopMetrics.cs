using System.Diagnostics;
using System.Diagnostics.Metrics;
using JowiShop.Grains.Abstractions.Sales;
using Npgsql;

namespace JowiShop.Grains.Telemetry;

/// <summary>
/// The domain's instruments (meter <c>JowiShop</c>, docs/observability.md), recorded where the events
/// happen: the store grains (sales answered, batches, price cache), the ledger writer (transactions,
/// retries, refusals) and the barcode cache. One meter for the process: instruments cost nothing
/// until a listener (the OpenTelemetry meter provider) enables them, and a recording is a few
/// interlocked adds, with tags from small fixed sets held in static fields (no allocation per call).
/// Never a tenant or store id as a tag: one series per shop would grow without bound.
/// </summary>
public static class JowiShopMetrics
{
    public const string MeterName = "JowiShop";

    /// <summary>The process's one JowiShop meter (instruments of other assemblies are created on it too).</summary>
    public static readonly Meter Meter = new(MeterName, "1.0");

    // Seconds: a receipt's commit is a few ms on a quiet system, up to the 5 s grain call timeout.
    private static readonly InstrumentAdvice<double> LatencyBuckets = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };
    // Counts: store commits or receipts per transaction, sales per store batch (at most 512; 2048 rows per transaction).
    private static readonly InstrumentAdvice<int> SizeBuckets = new()
    {
        HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
    };

    public static readonly Counter<long> Receipts = Meter.CreateCounter<long>("jowishop.receipts", "{sale}",
        "Sale orders answered by the store grains, by outcome (created: committed now).");
    public static readonly Histogram<double> ReceiptDuration = Meter.CreateHistogram("jowishop.receipt.duration", "s",
        "From a sale order's arrival at its store grain to its answer: batching, pricing and the ledger commit.", advice: LatencyBuckets);

    public static readonly Histogram<int> StoreBatchSales = Meter.CreateHistogram("jowishop.store.batch.sales", "{sale}",
        "Sales a store grain takes into one batch.", advice: SizeBuckets);
    public static readonly Histogram<int> StoreQueueDepth = Meter.CreateHistogram("jowishop.store.queue.depth", "{sale}",
        "Sales queued at a store grain when it takes a batch (the batch included).", advice: SizeBuckets);
    public static readonly Counter<long> PriceLookups = Meter.CreateCounter<long>("jowishop.store.price_cache.lookups", "{variant}",
        "Variants priced from a store grain's price cache (hit) or asked of their product grains (miss).");

    public static readonly Histogram<double> LedgerCommitDuration = Meter.CreateHistogram("jowishop.ledger.commit.duration", "s",
        "One ledger transaction (one round trip, the commit included), by outcome.", advice: LatencyBuckets);
    public static readonly Histogram<int> LedgerTransactionCommits = Meter.CreateHistogram("jowishop.ledger.transaction.commits", "{commit}",
        "Store commits (batches, refunds, stock operations) in one committed ledger transaction.", advice: SizeBuckets);
    public static readonly Histogram<int> LedgerTransactionReceipts = Meter.CreateHistogram("jowishop.ledger.transaction.receipts", "{receipt}",
        "Receipts (sales and refunds) in one committed ledger transaction.", advice: SizeBuckets);
    public static readonly Counter<long> LedgerRetries = Meter.CreateCounter<long>("jowishop.ledger.retries", "{transaction}",
        "Ledger transactions sent again whole, by reason.");
    public static readonly Counter<long> LedgerRefusals = Meter.CreateCounter<long>("jowishop.ledger.refusals", "{commit}",
        "Store commits the ledger refused, by code (JW001: fenced).");

    public static readonly Counter<long> BarcodeLookups = Meter.CreateCounter<long>("jowishop.barcode.lookups", "{lookup}",
        "Barcode resolutions: from product grains' memory (hit), from PostgreSQL (miss), known unknown (unknown).");
    public static readonly Counter<long> ProductGrainEvictions = Meter.CreateCounter<long>("jowishop.barcode.evictions", "{entry}",
        "Product grains deactivated and unknown-barcode entries dropped.");
    public static readonly UpDownCounter<long> ActiveProductGrains = Meter.CreateUpDownCounter<long>("jowishop.product_grains.active", "{grain}",
        "Product grains active on this silo.");

    // Tags, made once: a recording passes a struct holding a reference to one of these.
    private static readonly KeyValuePair<string, object?>[] OutcomeTags =
        Enum.GetValues<SaleOutcome>().Select(o => new KeyValuePair<string, object?>("outcome", OutcomeName(o))).ToArray();
    private static readonly KeyValuePair<string, object?> Hit = new("result", "hit"), Miss = new("result", "miss"), Unknown = new("result", "unknown");
    private static readonly KeyValuePair<string, object?> Committed = new("outcome", "committed"), Refused = new("outcome", "refused"),
        Failed = new("outcome", "failed"), Retried = new("outcome", "retried");
    private static readonly KeyValuePair<string, object?> Deadlock = new("reason", "deadlock"), Serialization = new("reason", "serialization_failure"),
        FenceResend = new("reason", "fence_resend");

    /// <summary>snake_case of the outcome, as a Prometheus label value reads best.</summary>
    public static string OutcomeName(SaleOutcome outcome) => outcome switch
    {
        SaleOutcome.Created => "created",
        SaleOutcome.Replayed => "replayed",
        SaleOutcome.IdConflict => "id_conflict",
        SaleOutcome.StoreNotFound => "store_not_found",
        SaleOutcome.InsufficientStock => "insufficient_stock",
        SaleOutcome.RefundExceedsSale => "refund_exceeds_sale",
        SaleOutcome.Invalid => "invalid",
        SaleOutcome.Unavailable => "unavailable",
        SaleOutcome.DiscountForbidden => "discount_forbidden",
        _ => "other",
    };

    private static KeyValuePair<string, object?> OutcomeTag(SaleOutcome outcome) =>
        (uint)outcome < (uint)OutcomeTags.Length ? OutcomeTags[(int)outcome] : new("outcome", "other");

    /// <summary>A sale answered by its store grain; <paramref name="arrived"/> is <see cref="Stopwatch.GetTimestamp"/> at its arrival (0: not timed, a replay from memory).</summary>
    public static void SaleAnswered(SaleOutcome outcome, long arrived = 0)
    {
        var tag = OutcomeTag(outcome);
        Receipts.Add(1, tag);
        if (arrived != 0 && ReceiptDuration.Enabled)
            ReceiptDuration.Record(Stopwatch.GetElapsedTime(arrived).TotalSeconds, tag);
    }

    /// <summary>Passes the result through, counted: for answers returned without the queue (replays from memory).</summary>
    public static SaleResult Counted(SaleResult result)
    {
        SaleAnswered(result.Outcome);
        return result;
    }

    public static void BatchTaken(int sales, int queued)
    {
        StoreBatchSales.Record(sales);
        StoreQueueDepth.Record(queued);
    }

    public static void PricesLooked(int hits, int misses)
    {
        if (hits > 0)
            PriceLookups.Add(hits, Hit);
        if (misses > 0)
            PriceLookups.Add(misses, Miss);
    }

    public static void BarcodeHit() => BarcodeLookups.Add(1, Hit);
    public static void BarcodeMiss() => BarcodeLookups.Add(1, Miss);
    public static void BarcodeUnknownHit() => BarcodeLookups.Add(1, Unknown);

    /// <summary>A ledger transaction committed: its time from <paramref name="started"/> and its size.</summary>
    public static void TransactionCommitted(long started, List<Sales.StoreCommit> commits)
    {
        LedgerCommitDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, Committed);
        if (!LedgerTransactionReceipts.Enabled && !LedgerTransactionCommits.Enabled)
            return;
        var receipts = 0;
        foreach (var commit in commits)
            receipts += commit.Receipts.Count;
        LedgerTransactionCommits.Record(commits.Count);
        LedgerTransactionReceipts.Record(receipts);
    }

    /// <summary>
    /// A ledger transaction that did not commit; false, so that it serves as an exception filter
    /// (the exception goes on unchanged). Deadlock victims and serialization failures are retried.
    /// </summary>
    public static bool TransactionFailed(long started, Exception error, bool retried)
    {
        var outcome = retried ? Retried : error is PostgresException p && !Persistence.DatabaseFailures.IsTransient(p) ? Refused : Failed;
        LedgerCommitDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, outcome);
        if (retried)
            LedgerRetries.Add(1, error is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected } ? Deadlock : Serialization);
        return false;
    }

    /// <summary>An overlapped transaction refused at the fence, sent once more whole.</summary>
    public static void FenceResent() => LedgerRetries.Add(1, FenceResend);

    /// <summary>A store commit finally refused (after any split into parts); the code is the SQLSTATE of a small known set.</summary>
    public static void CommitRefused(Exception error) =>
        LedgerRefusals.Add(1, new KeyValuePair<string, object?>("code", RefusalCode(error)));

    public static string RefusalCode(Exception error) => error switch
    {
        PostgresException { SqlState: "JW001" } => "JW001",
        PostgresException { SqlState: "JW003" } => "JW003",
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } => "unique_violation",
        PostgresException p when Persistence.DatabaseFailures.IsTransient(p) => "transient",
        PostgresException => "other",
        _ => "connection",
    };
}
