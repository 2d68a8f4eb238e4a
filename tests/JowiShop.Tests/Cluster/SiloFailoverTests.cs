using JowiShop.DemoData;
using Xunit;
using Xunit.Abstractions;

namespace JowiShop.Tests.Cluster;

/// <summary>Fault tests with real processes: they run alone, after the parallel tests, so their figures are not noise.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterFaults
{
    public const string Name = "cluster faults";
}

/// <summary>
/// A silo dies (SIGKILL) or leaves (SIGTERM) while tills post receipts to both demo stores through
/// an API front: nothing acknowledged is lost, numbers stay gapless, retries never duplicate a sale.
/// </summary>
[Collection(ClusterFaults.Name)]
public sealed class SiloFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(90);

    /// <summary>3 silos, 8 tills selling to both demo stores (warmed up), and the silo hosting the Central store.</summary>
    private static async Task<(ClusterNode[] Silos, HttpClient Till, ReceiptLoad Load, CancellationTokenSource Stop, Task Tills, ClusterNode StoreSilo)>
        SellingThroughThreeSilosAsync(LocalCluster cluster)
    {
        var (silos, _, till, load) = await cluster.StartSplitAsync(silos: 3, StartDeadline);
        var stop = new CancellationTokenSource();
        var tills = load.RunAsync(tillsPerStore: 4, stop.Token);
        await load.WarmUpAsync(StartDeadline);
        return (silos, till, load, stop, tills, await cluster.SiloHostingStoreAsync(DemoTenant.TenantId, DemoTenant.CentralStoreId));
    }

    [Fact]
    public async Task A_killed_silo_loses_no_acknowledged_receipt_and_its_store_takes_receipts_again()
    {
        await using var cluster = await LocalCluster.StartAsync();
        var (silos, till, load, stop, tills, victim) = await SellingThroughThreeSilosAsync(cluster);
        using var tillClient = till;
        using var stopping = stop;
        var killedAt = load.Now;
        victim.Kill();
        var declaredDead = cluster.WaitForActiveSilosAsync(silos.Where(s => s != victim), StartDeadline)
            .ContinueWith(t => { t.GetAwaiter().GetResult(); return load.Now - killedAt; });

        // Keep selling until the store answers again and then some, so the new activation is exercised.
        await FaultReport.UntilAsync(
            () => load.RecoverySeconds(DemoTenant.CentralStoreId, killedAt) is not null
                  && load.Receipts.Count(r => r.StoreId == DemoTenant.CentralStoreId) >= 100,
            TimeSpan.FromSeconds(90), () => $"the store did not take receipts again after its silo was killed. {load.Summary()} {cluster.Logs()}");
        stop.Cancel();
        await tills;

        var unexpected = load.Failures.Where(a => a.Status is not (0 or 503)).ToArray();
        Assert.True(unexpected.Length == 0, $"answers other than 201/503/socket error: {string.Join("; ", unexpected.Take(3))}");
        await SalesAudit.AssertConsistentAsync(cluster.PostgresConnectionString, load);
        var deadAfter = await declaredDead;

        FaultReport.Write(output, "silo SIGKILL under load (3 silos, 8 tills)",
            $"declared dead after {deadAfter.TotalSeconds:0.0} s; recovery of the store whose silo died: {load.RecoverySeconds(DemoTenant.CentralStoreId, killedAt)} s; " +
            $"other store: {load.RecoverySeconds(DemoTenant.ChilanzarStoreId, killedAt)} s; {load.Summary()}");
    }

    [Fact]
    public async Task A_silo_shut_down_gracefully_under_load_fails_no_request()
    {
        await using var cluster = await LocalCluster.StartAsync();
        var (_, till, load, stop, tills, leaving) = await SellingThroughThreeSilosAsync(cluster);
        using var tillClient = till;
        using var stopping = stop;
        var stoppedAt = load.Now;
        leaving.Terminate();
        Assert.True(await leaving.Process.WaitForExitAsync(StartDeadline), $"{leaving.Name} did not stop. {leaving.LogTail()}");
        var exitedAt = load.Now;

        var before = load.Receipts.Count(r => r.StoreId == DemoTenant.CentralStoreId);
        await FaultReport.UntilAsync(() => load.Receipts.Count(r => r.StoreId == DemoTenant.CentralStoreId) >= before + 100,
            TimeSpan.FromSeconds(60), () => $"the store stopped taking receipts. {load.Summary()} {cluster.Logs()}");
        stop.Cancel();
        await tills;

        // From the moment the silo is asked to stop, every request succeeds at the first attempt.
        var failed = load.Failures.Where(a => a.Ended >= stoppedAt).ToArray();
        Assert.True(failed.Length == 0, $"{failed.Length} failed requests during a graceful shutdown: {load.Summary()}; e.g. {failed.FirstOrDefault()}");
        await SalesAudit.AssertConsistentAsync(cluster.PostgresConnectionString, load);
        FaultReport.Write(output, "silo SIGTERM under load (3 silos, 8 tills)",
            $"silo shut down in {(exitedAt - stoppedAt).TotalSeconds:0.0} s; {load.Summary()}");
    }
}

internal static class ProcessExtensions
{
    public static async Task<bool> WaitForExitAsync(this System.Diagnostics.Process process, TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
