using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace JowiShop.Tests.Infrastructure;

/// <summary>
/// One real PostgreSQL and one real Redis per test run, started from the Debian binaries on
/// free loopback ports in a temporary folder by deploy/local/services.sh (the same script
/// ./start uses), and removed when the test process exits. Each test class gets its own database.
/// </summary>
public static class LocalServices
{
    private static readonly Lazy<Task<Servers>> Started = new(StartAsync);

    public sealed record Servers(string Root, int PostgresPort, int RedisPort)
    {
        public string RedisConnectionString => $"127.0.0.1:{RedisPort}";

        public string PostgresConnectionString(string database) =>
            $"Host=127.0.0.1;Port={PostgresPort};Username=postgres;Database={database};Maximum Pool Size=50;Timeout=10;Command Timeout=30";
    }

    public static Task<Servers> GetAsync() => Started.Value;

    /// <summary>Creates an empty database with a unique name and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix)
    {
        var servers = await GetAsync();
        var name = $"{prefix}_{Guid.NewGuid():N}".ToLowerInvariant();
        await using var connection = new NpgsqlConnection(servers.PostgresConnectionString("postgres"));
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await cmd.ExecuteNonQueryAsync();
        return servers.PostgresConnectionString(name);
    }

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs deploy/local/services.sh with the given arguments; throws with its output on failure.</summary>
    public static void Script(params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(RepositoryRoot, "deploy", "local", "services.sh"));
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"services.sh {string.Join(' ', args)} did not finish in 2 minutes");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"services.sh {string.Join(' ', args)} failed ({process.ExitCode}): {stdout.Result}{stderr.Result}");
    }

    private static Task<Servers> StartAsync() => Task.Run(() =>
    {
        var root = Path.Combine(Path.GetTempPath(), $"jowishop-tests-{Environment.ProcessId}");
        if (Directory.Exists(root))
            Directory.Delete(root, recursive: true);
        Directory.CreateDirectory(root);
        var servers = new Servers(root, FreePort(), FreePort());
        // fsync off: test databases are thrown away; commits stay synchronous as in production.
        Environment.SetEnvironmentVariable("PG_EXTRA_OPTS", "-c fsync=off -c full_page_writes=off");
        Script("pg-start", Path.Combine(root, "pg"), servers.PostgresPort.ToString());
        Script("redis-start", Path.Combine(root, "redis"), servers.RedisPort.ToString());
        Script("watch", Environment.ProcessId.ToString(), Path.Combine(root, "redis"), Path.Combine(root, "pg"));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop(servers);
        return servers;
    });

    private static void Stop(Servers servers)
    {
        try
        {
            Script("redis-stop", Path.Combine(servers.Root, "redis"));
            Script("pg-stop", Path.Combine(servers.Root, "pg"));
            Directory.Delete(servers.Root, recursive: true);
        }
        catch (Exception e)
        {
            // Nothing left to report to at process exit but stderr.
            Console.Error.WriteLine($"Could not stop test services in {servers.Root}: {e.Message}");
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "JowiShop.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("JowiShop.sln not found above " + AppContext.BaseDirectory);
    }
}
