using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using JowiShop.ApiHost.Features.Auth;
using JowiShop.DemoData;
using JowiShop.Grains.Persistence;
using JowiShop.Silo;
using JowiShop.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace JowiShop.Tests.Cluster;

/// <summary>
/// A real cluster in separate processes, as deploy/cluster runs it: a PostgreSQL and a Redis of its
/// own (the fault tests stop and restart them), standalone silos (src/Silo) and API fronts
/// (src/ApiHost, as Orleans clients or co-hosting a silo), seeded with the demo data. Processes can be
/// killed (SIGKILL) or stopped gracefully (SIGTERM). The test process joins as an Orleans client to
/// ask where grains live.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly List<ClusterNode> _nodes = [];
    private IHost? _client;

    private LocalCluster(string root, int postgresPort, int redisPort)
    {
        Root = root;
        PostgresPort = postgresPort;
        RedisPort = redisPort;
        ClusterId = "fault-" + Guid.NewGuid().ToString("N")[..8];
    }

    public string Root { get; }
    public int PostgresPort { get; }
    public int RedisPort { get; }
    public string ClusterId { get; }
    public IReadOnlyList<ClusterNode> Nodes => _nodes;

    /// <summary>Settings for every node started from now on and for the test's own client (e.g. Orleans:Tls:*).</summary>
    public Dictionary<string, string> Settings { get; } = [];

    /// <summary>Short timeouts: an unreachable database must turn into a 503 quickly, not a hang.</summary>
    public string PostgresConnectionString =>
        $"Host=127.0.0.1;Port={PostgresPort};Username=postgres;Database=jowishop;Timeout=5;Command Timeout=15";

    public string RedisConnectionString => $"127.0.0.1:{RedisPort}";
    private string PostgresDir => Path.Combine(Root, "pg");
    private string RedisDir => Path.Combine(Root, "redis");

    public static async Task<LocalCluster> StartAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), $"jowishop-cluster-{Guid.NewGuid():N}"[..32]);
        Directory.CreateDirectory(Path.Combine(root, "logs"));
        var cluster = new LocalCluster(root, LocalServices.FreePort(), LocalServices.FreePort());
        await Task.Run(() =>
        {
            LocalServices.Script("pg-start", cluster.PostgresDir, cluster.PostgresPort.ToString());
            LocalServices.Script("redis-start", cluster.RedisDir, cluster.RedisPort.ToString());
            LocalServices.Script("watch", Environment.ProcessId.ToString(), cluster.RedisDir, cluster.PostgresDir);
            DatabaseMigrator.Apply(cluster.PostgresConnectionString);
        });
        await DemoDataSet.SeedAsync(cluster.PostgresConnectionString, new DemoDataOptions());
        return cluster;
    }

    /// <summary>
    /// The fault tests' set-up: <paramref name="silos"/> standalone silos, one API front as their
    /// client, a till client logged in through it, and receipt load ready to run.
    /// </summary>
    public async Task<(ClusterNode[] Silos, ClusterNode Front, HttpClient Till, ReceiptLoad Load)> StartSplitAsync(
        int silos, TimeSpan deadline, TimeSpan? tillTimeout = null)
    {
        var started = Enumerable.Range(0, silos).Select(_ => StartSilo()).ToArray();
        await WaitForActiveSilosAsync(started, deadline);
        var front = StartFront();
        await WaitForFrontAsync(front, deadline);
        var till = await LoginAsync(front, tillTimeout);
        return (started, front, till, await ReceiptLoad.CreateAsync([till], PostgresConnectionString));
    }

    /// <summary>Starts a standalone silo process (grains only).</summary>
    public ClusterNode StartSilo() => Start(ClusterNodeKind.Silo);

    /// <summary>Starts an API front: an Orleans client of the silos, or (cohosted) a front running a silo itself.</summary>
    public ClusterNode StartFront(bool cohosted = false) => Start(cohosted ? ClusterNodeKind.CohostedFront : ClusterNodeKind.Front);

    private ClusterNode Start(ClusterNodeKind kind)
    {
        var index = _nodes.Count + 1;
        var project = kind == ClusterNodeKind.Silo ? "Silo" : "ApiHost";
        var dll = Path.Combine(LocalServices.RepositoryRoot, "src", project, "bin", BuildConfiguration, "net10.0", $"JowiShop.{project}.dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException($"Build the solution first: {dll} is missing.", dll);

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        var silo = kind != ClusterNodeKind.Front;
        var siloPort = silo ? LocalServices.FreePort() : 0;
        var gatewayPort = silo ? LocalServices.FreePort() : 0;
        var httpPort = kind == ClusterNodeKind.Silo ? 0 : LocalServices.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ConnectionStrings__Postgres"] = PostgresConnectionString,
            ["ConnectionStrings__Redis"] = RedisConnectionString,
            ["Orleans__ClusterId"] = ClusterId,
            ["Orleans__Topology"] = kind == ClusterNodeKind.Front ? "client" : "cohosted",
            ["Orleans__SiloPort"] = siloPort.ToString(),
            ["Orleans__GatewayPort"] = gatewayPort.ToString(),
            ["Database__MigrateOnStart"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.AspNetCore.HttpLogging.HttpLoggingMiddleware"] = "Warning",
            // Several processes share two cores: workstation GC keeps each one's footprint small.
            ["DOTNET_gcServer"] = "0",
        };
        if (httpPort != 0)
            // Not ASPNETCORE_URLS: appsettings.json's Urls would win over it.
            environment["Urls"] = $"http://127.0.0.1:{httpPort}";
        foreach (var entry in Environment.GetEnvironmentVariable("JOWISHOP_CLUSTER_LOG_LEVELS")?.Split(';', StringSplitOptions.RemoveEmptyEntries) ?? [])
            environment[$"Logging__LogLevel__{entry.Split('=')[0]}"] = entry.Split('=')[1];
        foreach (var (key, value) in Settings)
            environment[key.Replace(":", "__")] = value;
        foreach (var (key, value) in environment)
            start.Environment[key] = value;

        var name = $"{kind.ToString().ToLowerInvariant()}{index}";
        var node = new ClusterNode(name, kind, Process.Start(start)!, siloPort, gatewayPort, httpPort, Path.Combine(Root, "logs", name + ".log"));
        _nodes.Add(node);
        return node;
    }

    /// <summary>Connects the test's own Orleans client (retrying until a gateway is registered).</summary>
    public async Task<IClusterClient> ClientAsync(TimeSpan deadline)
    {
        if (_client is not null)
            return _client.Services.GetRequiredService<IClusterClient>();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Redis"] = RedisConnectionString,
                ["Orleans:ClusterId"] = ClusterId,
            })
            .AddInMemoryCollection(Settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
            .Build();
        var host = new HostBuilder().UseOrleansClient(client => client.UseJowiShopClustering(configuration)).Build();
        using var timeout = new CancellationTokenSource(deadline);
        await host.StartAsync(timeout.Token);
        _client = host;
        return host.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>Polls the membership until exactly these silos are active (others dead or gone).</summary>
    public async Task WaitForActiveSilosAsync(IEnumerable<ClusterNode> silos, TimeSpan deadline)
    {
        var expected = silos.Select(s => s.SiloPort).Order().ToArray();
        var client = await ClientAsync(deadline);
        var management = client.GetGrain<IManagementGrain>(0);
        int[] active = [];
        Exception? lastError = null;
        var until = DateTime.UtcNow + deadline;
        while (DateTime.UtcNow < until)
        {
            try
            {
                active = (await management.GetHosts(onlyActive: true)).Keys.Select(s => s.Endpoint.Port).Order().ToArray();
                if (active.SequenceEqual(expected))
                    return;
            }
            catch (Exception e)
            {
                // The management grain's silo may be the one that just died, or the membership table
                // (Redis) may be reconnecting after an outage: ask again, and report the last error.
                lastError = e;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"Active silos {string.Join(',', active)} did not become {string.Join(',', expected)} within {deadline}. Last error: {lastError?.GetType().Name}: {lastError?.Message} {Logs()}");
    }

    /// <summary>The silo process hosting the store grain of this store, activating it if needed.</summary>
    public async Task<ClusterNode> SiloHostingStoreAsync(Guid tenantId, Guid storeId)
    {
        var client = await ClientAsync(TimeSpan.FromSeconds(30));
        var store = client.GetGrain<JowiShop.Grains.Abstractions.Sales.IStoreGrain>(storeId, tenantId.ToString());
        var address = await client.GetGrain<IManagementGrain>(0).GetActivationAddress(store)
            ?? throw new InvalidOperationException($"Store grain {storeId} is not active.");
        return _nodes.Single(n => n.SiloPort == address.Endpoint.Port && n.Process is { HasExited: false });
    }

    /// <summary>Polls an API front until it reports ready with at least one silo.</summary>
    public async Task WaitForFrontAsync(ClusterNode front, TimeSpan deadline)
    {
        using var http = new HttpClient { BaseAddress = front.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var until = DateTime.UtcNow + deadline;
        var last = "";
        while (DateTime.UtcNow < until)
        {
            if (front.Process.HasExited)
                throw new InvalidOperationException($"{front.Name} exited with {front.Process.ExitCode}. {front.LogTail()}");
            try
            {
                var response = await http.GetAsync("/api/v1/health/ready");
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException e) { last = e.Message; }
            catch (TaskCanceledException e) { last = e.Message; }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{front.Name} was not ready within {deadline}: {last}. {front.LogTail()}");
    }

    /// <summary>An HTTP client for this front logged in as the demo administrator.</summary>
    public static async Task<HttpClient> LoginAsync(ClusterNode front, TimeSpan? timeout = null)
    {
        var http = new HttpClient { BaseAddress = front.BaseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(20) };
        var response = await http.PostAsJsonAsync("/api/v1/auth/login", new { login = "admin@jowi.shop", password = "Admin#12345" });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<LoginResponse>();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body!.AccessToken);
        return http;
    }

    public void StopPostgres() => LocalServices.Script("pg-stop", PostgresDir);
    public void StartPostgres() => LocalServices.Script("pg-start", PostgresDir, PostgresPort.ToString());
    public void StopRedis() => LocalServices.Script("redis-stop", RedisDir);
    public void StartRedis() => LocalServices.Script("redis-start", RedisDir, RedisPort.ToString());

    public string Logs() => string.Join("\n", _nodes.Select(n => n.LogTail()));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
            node.Dispose();
        if (_client is not null)
        {
            try { await _client.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token); }
            catch (Exception e) when (e is OperationCanceledException or SiloUnavailableException or OrleansException) { /* the cluster is gone already */ }
            _client.Dispose();
        }
        await Task.Run(() =>
        {
            LocalServices.Script("redis-stop", RedisDir);
            LocalServices.Script("pg-stop", PostgresDir);
        });
        // JOWISHOP_KEEP_CLUSTER_LOGS=1 keeps the processes' logs for a post-mortem.
        if (Environment.GetEnvironmentVariable("JOWISHOP_KEEP_CLUSTER_LOGS") == "1")
            Directory.Delete(PostgresDir, recursive: true);
        else
            Directory.Delete(Root, recursive: true);
    }

    private static string BuildConfiguration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
}

public enum ClusterNodeKind { Silo, Front, CohostedFront }

/// <summary>One process of a <see cref="LocalCluster"/>, its output kept in a log file.</summary>
public sealed class ClusterNode : IDisposable
{
    private readonly StreamWriter _log;
    private bool _disposed;

    public ClusterNode(string name, ClusterNodeKind kind, Process process, int siloPort, int gatewayPort, int httpPort, string logPath)
    {
        Name = name;
        Kind = kind;
        Process = process;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        HttpPort = httpPort;
        LogPath = logPath;
        _log = new StreamWriter(logPath) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }
    public ClusterNodeKind Kind { get; }
    public Process Process { get; }
    public int SiloPort { get; }
    public int GatewayPort { get; }
    public int HttpPort { get; }
    public string LogPath { get; }
    public Uri BaseAddress => new($"http://127.0.0.1:{HttpPort}");

    /// <summary>SIGKILL: the process dies at once, as on a power cut or an OOM kill.</summary>
    public void Kill() => Process.Kill();

    /// <summary>SIGTERM: the host shuts down gracefully (Orleans deactivates its grains, Kestrel drains).</summary>
    public void Terminate()
    {
        if (Kill(Process.Id, 15) != 0)
            throw new InvalidOperationException($"kill -TERM {Process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public string LogTail(int lines = 40)
    {
        lock (_log)
        {
            if (!_disposed)
                _log.Flush();
            using var read = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var all = new StreamReader(read).ReadToEnd().Split('\n');
            return $"--- {Name} (last {lines} lines) ---\n" + string.Join('\n', all.TakeLast(lines));
        }
    }

    private void Write(string? line)
    {
        if (line is null)
            return;
        lock (_log)
        {
            if (!_disposed)
                _log.WriteLine(line);
        }
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit(10_000);
        }
        Process.Dispose();
        lock (_log)
        {
            _disposed = true;
            _log.Dispose();
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
