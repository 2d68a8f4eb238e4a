using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using JowiShop.Grains.Abstractions;
using StackExchange.Redis;

namespace JowiShop.ApiHost.Features.Health;

/// <summary>PostgreSQL answers a query: without it nothing can be written.</summary>
public sealed class PostgresReadiness(NpgsqlDataSource db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT 1");
        await cmd.ExecuteScalarAsync(ct);
        return HealthCheckResult.Healthy();
    }
}

/// <summary>
/// Redis answers PING. Redis holds only cluster membership: a running cluster keeps serving
/// without it (only joining silos need it), so its failure reports Degraded, not Unhealthy.
/// </summary>
public sealed class RedisReadiness(RedisConnection redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct)
    {
        var latency = await redis.Multiplexer.GetDatabase().PingAsync();
        return HealthCheckResult.Healthy($"ping {latency.TotalMilliseconds:0.0} ms");
    }
}

/// <summary>A silo answers this host and reports the active silos it sees (from memory: works without Redis).</summary>
public sealed class SiloReadiness(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct)
    {
        var view = await grains.GetGrain<IClusterViewGrain>(0).GetAsync();
        return HealthCheckResult.Healthy($"{view.ActiveSilos.Count} active silo(s), seen by {view.AnsweringSilo}");
    }
}

/// <summary>One shared Redis connection for this host's own use (the membership provider has its own).</summary>
public sealed class RedisConnection(ConfigurationOptions options) : IDisposable
{
    private readonly Lazy<ConnectionMultiplexer> _multiplexer = new(() => ConnectionMultiplexer.Connect(options));

    public IConnectionMultiplexer Multiplexer => _multiplexer.Value;

    public void Dispose()
    {
        if (_multiplexer.IsValueCreated)
            _multiplexer.Value.Dispose();
    }
}
