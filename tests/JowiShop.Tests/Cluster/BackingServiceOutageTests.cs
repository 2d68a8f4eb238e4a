using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using JowiShop.DemoData;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace JowiShop.Tests.Cluster;

/// <summary>
/// PostgreSQL or Redis goes away under receipt load. PostgreSQL: sales answer 503 quickly while it
/// is down and the system recovers by itself. Redis (membership only): the running cluster does not
/// notice, but a new silo cannot join until it returns.
/// </summary>
[Collection(ClusterFaults.Name)]
public sealed class BackingServiceOutageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(90);
    /// <summary>What a till waits at most for any answer: the API's grain call timeout (5 s) plus margin.</summary>
    private static readonly TimeSpan TillTimeout = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task PostgreSQL_restarted_under_load_means_503s_then_recovery_without_loss_or_gaps()
    {
        await using var cluster = await LocalCluster.StartAsync();
        var (_, _, http, load) = await cluster.StartSplitAsync(silos: 2, StartDeadline, TillTimeout);
        using var till = http;
        var barcode = await AnyBarcodeAsync(cluster.PostgresConnectionString);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/v1/products/by-barcode/{barcode}")).StatusCode);

        using var stop = new CancellationTokenSource();
        var tills = load.RunAsync(tillsPerStore: 3, stop.Token);
        await load.WarmUpAsync(StartDeadline);

        var downAt = load.Now;
        cluster.StopPostgres();
        await FaultReport.UntilAsync(() => load.Failures.Count(a => a.Started >= downAt) >= 120, StartDeadline,
            () => $"sales did not fail while PostgreSQL was down: {load.Summary()}");
        // The barcode cache lives in grain memory: scans of known barcodes do not need the database.
        var scan = await http.GetAsync($"/api/v1/products/by-barcode/{barcode}");
        Assert.Equal(HttpStatusCode.OK, scan.StatusCode);
        var ready = await http.GetAsync("/api/v1/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);

        var upAt = load.Now;
        cluster.StartPostgres();
        var before = ReceiptLoad.DemoStores.ToDictionary(s => s.Store, s => load.Receipts.Count(r => r.StoreId == s.Store));
        await FaultReport.UntilAsync(
            () => ReceiptLoad.DemoStores.All(s => load.Receipts.Count(r => r.StoreId == s.Store) >= before[s.Store] + 50),
            StartDeadline, () => $"sales did not resume after PostgreSQL came back: {load.Summary()} {cluster.Logs()}");
        stop.Cancel();
        await tills;

        // While it was down: 503s, answered within the till's timeout (no socket errors, no 500s).
        var outage = load.Failures.ToArray();
        Assert.True(outage.All(a => a.Status == 503),
            $"answers other than 503 during the outage: {string.Join("; ", outage.Where(a => a.Status != 503).Take(3))}");
        await SalesAudit.AssertConsistentAsync(cluster.PostgresConnectionString, load);
        FaultReport.Write(output, "PostgreSQL restart under load (2 silos, 6 tills)",
            $"down {(upAt - downAt).TotalSeconds:0.0} s; first sale after restart: {Math.Min(load.RecoverySeconds(DemoTenant.CentralStoreId, upAt) ?? 999, load.RecoverySeconds(DemoTenant.ChilanzarStoreId, upAt) ?? 999):0.00} s; " +
            $"both stores: {Math.Max(load.RecoverySeconds(DemoTenant.CentralStoreId, upAt) ?? 999, load.RecoverySeconds(DemoTenant.ChilanzarStoreId, upAt) ?? 999):0.00} s; {load.Summary()}");
    }

    [Fact]
    public async Task Redis_stopped_leaves_the_cluster_serving_and_a_new_silo_joins_once_it_returns()
    {
        await using var cluster = await LocalCluster.StartAsync();
        var (silos, _, http, load) = await cluster.StartSplitAsync(silos: 2, StartDeadline, TillTimeout);
        using var till = http;
        var barcode = await AnyBarcodeAsync(cluster.PostgresConnectionString);

        using var stop = new CancellationTokenSource();
        var tills = load.RunAsync(tillsPerStore: 3, stop.Token);
        await load.WarmUpAsync(StartDeadline);

        var downAt = load.Now;
        cluster.StopRedis();
        var ready = await http.GetAsync("/api/v1/health/ready");
        Assert.True(ready.StatusCode == HttpStatusCode.OK, $"readiness with Redis down: {(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}");
        var checks = (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks");
        Assert.Equal("degraded", checks.GetProperty("redis").GetProperty("status").GetString());
        Assert.Equal("ok", checks.GetProperty("silo").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/v1/products/by-barcode/{barcode}")).StatusCode);

        // A silo started now cannot read the membership table, so it does not join.
        var latecomer = cluster.StartSilo();
        var before = ReceiptLoad.DemoStores.ToDictionary(s => s.Store, s => load.Receipts.Count(r => r.StoreId == s.Store));
        await FaultReport.UntilAsync(
            () => ReceiptLoad.DemoStores.All(s => load.Receipts.Count(r => r.StoreId == s.Store) >= before[s.Store] + 100),
            StartDeadline, () => $"sales stopped while Redis was down: {load.Summary()}");
        var client = await cluster.ClientAsync(StartDeadline);
        // The management grain's host list reads the (unreachable) table: ask a silo's own view instead.
        var view = await client.GetGrain<JowiShop.Grains.Abstractions.IClusterViewGrain>(0).GetAsync();
        Assert.Equal(2, view.ActiveSilos.Count);
        Assert.DoesNotContain($"127.0.0.1:{latecomer.SiloPort}", view.ActiveSilos);

        var upAt = load.Now;
        cluster.StartRedis();
        if (latecomer.Process.HasExited)
            latecomer = cluster.StartSilo(); // as a process supervisor (systemd, Kubernetes) would restart it
        await cluster.WaitForActiveSilosAsync([.. silos, latecomer], StartDeadline);
        var joinedAfter = load.Now - upAt;
        stop.Cancel();
        await tills;

        Assert.True(!load.Failures.Any(a => a.Ended >= downAt), $"failed requests while Redis was down: {load.Summary()}");
        await SalesAudit.AssertConsistentAsync(cluster.PostgresConnectionString, load);
        FaultReport.Write(output, "Redis stopped under load (2 silos, 6 tills)",
            $"Redis down {(upAt - downAt).TotalSeconds:0.0} s with no failed request; the new silo joined {joinedAfter.TotalSeconds:0.0} s after Redis returned; {load.Summary()}");
    }

    private static async Task<string> AnyBarcodeAsync(string postgres)
    {
        await using var db = NpgsqlDataSource.Create(postgres);
        await using var cmd = db.CreateCommand("SELECT barcode FROM variant_barcodes WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY barcode LIMIT 1");
        cmd.Parameters.AddWithValue(DemoTenant.TenantId);
        return (string)(await cmd.ExecuteScalarAsync())!;
    }
}
