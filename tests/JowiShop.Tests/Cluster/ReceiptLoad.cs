using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using JowiShop.DemoData;
using Npgsql;

namespace JowiShop.Tests.Cluster;

/// <summary>
/// Tills posting receipts continuously, as a POS client does: each sale has a client-chosen id,
/// and a 503, a timeout or a broken connection is retried with the same id and body until it is
/// acknowledged. Records every attempt, so a test can say what was acknowledged, what failed on the
/// way, and when a store took receipts again after a fault.
/// </summary>
public sealed class ReceiptLoad
{
    public static readonly (Guid Store, Guid Terminal)[] DemoStores =
        [(DemoTenant.CentralStoreId, DemoTenant.CentralTerminalId), (DemoTenant.ChilanzarStoreId, DemoTenant.ChilanzarTerminalId)];

    private readonly IReadOnlyList<HttpClient> _fronts;
    private readonly IReadOnlyList<(Guid Id, decimal Price)> _variants;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private ReceiptLoad(IReadOnlyList<HttpClient> fronts, IReadOnlyList<(Guid, decimal)> variants)
    {
        _fronts = fronts;
        _variants = variants;
    }

    public ConcurrentBag<Acknowledged> Receipts { get; } = [];
    public ConcurrentBag<Attempt> Attempts { get; } = [];
    /// <summary>Sales given up on (still failing at the retry deadline): ids that may or may not be stored.</summary>
    public ConcurrentBag<Guid> Abandoned { get; } = [];
    public TimeSpan Now => _clock.Elapsed;

    public static async Task<ReceiptLoad> CreateAsync(IReadOnlyList<HttpClient> fronts, string postgres)
    {
        await using var db = NpgsqlDataSource.Create(postgres);
        await using var cmd = db.CreateCommand(
            "SELECT id, price FROM product_variants WHERE tenant_id = $1 AND deleted_at IS NULL AND active ORDER BY id LIMIT 40");
        cmd.Parameters.AddWithValue(DemoTenant.TenantId);
        var variants = new List<(Guid, decimal)>();
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                variants.Add((reader.GetGuid(0), reader.GetDecimal(1)));
        return new ReceiptLoad(fronts, variants);
    }

    /// <summary>Runs <paramref name="tillsPerStore"/> tills on each demo store until <paramref name="stop"/>; each finishes its current sale.</summary>
    public Task RunAsync(int tillsPerStore, CancellationToken stop, TimeSpan? retryDeadline = null) =>
        Task.WhenAll(DemoStores.SelectMany((store, s) => Enumerable.Range(0, tillsPerStore)
            .Select(t => Task.Run(() => TillAsync(store.Store, store.Terminal, _fronts[(s * tillsPerStore + t) % _fronts.Count],
                stop, retryDeadline ?? TimeSpan.FromSeconds(90))))));

    private async Task TillAsync(Guid storeId, Guid terminalId, HttpClient http, CancellationToken stop, TimeSpan retryDeadline)
    {
        while (!stop.IsCancellationRequested)
        {
            var id = Guid.CreateVersion7();
            var lines = _variants.OrderBy(_ => Random.Shared.Next()).Take(2).ToArray();
            var body = new
            {
                id,
                storeId,
                terminalId,
                items = lines.Select(v => new { variantId = v.Id, quantity = 1 }).ToArray(),
                payments = new[] { new { method = "cash", amount = lines.Sum(v => v.Price) } },
            };
            var giveUp = Now + retryDeadline;
            for (var attempt = 1; ; attempt++)
            {
                var started = Now;
                int status;
                string? detail = null;
                try
                {
                    using var response = await http.PostAsJsonAsync("/api/v1/receipts", body);
                    status = (int)response.StatusCode;
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        var receipt = await response.Content.ReadFromJsonAsync<JsonElement>();
                        Attempts.Add(new Attempt(storeId, started, Now, status, null));
                        Receipts.Add(new Acknowledged(id, storeId, receipt.GetProperty("sequenceNo").GetInt64(), attempt));
                        break;
                    }
                    detail = await response.Content.ReadAsStringAsync();
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    status = 0;
                    detail = e.GetType().Name + ": " + e.Message;
                }
                Attempts.Add(new Attempt(storeId, started, Now, status, detail));
                // Only "not now" is retried; any other answer is the client's mistake and the test's failure.
                if (status is not (0 or 503 or 502))
                    break;
                if (Now > giveUp)
                {
                    Abandoned.Add(id);
                    break;
                }
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Polls until every demo store has acknowledged at least <paramref name="receipts"/> sales.</summary>
    public Task WarmUpAsync(TimeSpan deadline, int receipts = 20) =>
        FaultReport.UntilAsync(() => DemoStores.All(s => Receipts.Count(r => r.StoreId == s.Store) >= receipts),
            deadline, () => $"tills did not get going: {Summary()}");

    public IEnumerable<Attempt> Failures => Attempts.Where(a => a.Status != 201);

    /// <summary>
    /// Seconds from <paramref name="fault"/> until this store acknowledged a sale whose attempt began
    /// after the fault (the store grain had to be reachable again to answer it).
    /// </summary>
    public double? RecoverySeconds(Guid storeId, TimeSpan fault)
    {
        var first = Attempts.Where(a => a.StoreId == storeId && a.Status == 201 && a.Started >= fault).MinBy(a => a.Ended);
        return first is null ? null : Math.Round((first.Ended - fault).TotalSeconds, 2);
    }

    public string Summary() =>
        $"{Receipts.Count} acknowledged, {Receipts.Count(r => r.Attempts > 1)} after retries, {Abandoned.Count} abandoned; " +
        $"longest failed attempt {(Failures.Any() ? Failures.Max(a => (a.Ended - a.Started).TotalSeconds) : 0):0.0} s; " +
        $"failed attempts: {string.Join(", ", Failures.GroupBy(a => a.Status).Select(g => $"{(g.Key == 0 ? "socket/timeout" : g.Key.ToString())} x{g.Count()}"))}";

    public sealed record Acknowledged(Guid Id, Guid StoreId, long SequenceNo, int Attempts);

    public sealed record Attempt(Guid StoreId, TimeSpan Started, TimeSpan Ended, int Status, string? Detail);
}
