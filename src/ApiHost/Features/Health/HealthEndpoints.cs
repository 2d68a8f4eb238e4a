using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using JowiShop.Grains.Catalog;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace JowiShop.ApiHost.Features.Health;

public static class HealthEndpoints
{
    public static IServiceCollection AddReadinessChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<PostgresReadiness>("postgres", HealthStatus.Unhealthy, timeout: TimeSpan.FromSeconds(3))
            .AddCheck<RedisReadiness>("redis", HealthStatus.Degraded, timeout: TimeSpan.FromSeconds(2))
            .AddCheck<SiloReadiness>("silo", HealthStatus.Unhealthy, timeout: TimeSpan.FromSeconds(5));
        return services;
    }

    public static RouteGroupBuilder MapHealthEndpoints(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/health").WithTags("Health").AllowAnonymous();
        // Liveness: the process answers HTTP. Deliberately touches nothing else: short-circuited
        // at routing, so probes skip authentication, request logging and error pages.
        group.MapGet("/", () => TypedResults.Ok(new HealthStatusResponse("ok")))
            .ShortCircuit()
            .WithSummary("Liveness: the API process answers.");
        group.MapHealthChecks("/ready", new HealthCheckOptions
        {
            ResponseWriter = WriteReadiness,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        group.MapGet("/cache", CacheState)
            .WithSummary("The barcode cache: active product grains in the cluster, and this silo's hits, misses and evictions.");
        return api;
    }

    private static async Task<Ok<CacheStateResponse>> CacheState(IGrainFactory grains, IServiceProvider services)
    {
        // Activation counts are cluster-wide; the counters belong to the silo co-hosted here (none in client topology).
        var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        long Active(string grainClass) => statistics.Where(s => s.GrainType.Contains(grainClass, StringComparison.Ordinal)).Sum(s => (long)s.ActivationCount);
        var counters = services.GetService<CatalogCacheCounters>();
        return TypedResults.Ok(new CacheStateResponse(
            Active(nameof(ProductGrain)), Active(nameof(BarcodeDirectoryGrain)),
            counters?.Hits, counters?.Misses, counters?.UnknownHits, counters?.Evictions, counters?.ActiveProductGrains,
            GC.GetGCMemoryInfo().HeapSizeBytes, Environment.WorkingSet));
    }

    private static Task WriteReadiness(HttpContext context, HealthReport report) =>
        context.Response.WriteAsJsonAsync(new
        {
            status = Lower(report.Status),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = Lower(e.Value.Status),
                description = e.Value.Description ?? e.Value.Exception?.Message,
                durationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 1),
            }),
        });

    private static string Lower(HealthStatus status) => status.ToString().ToLowerInvariant();
}

public sealed record HealthStatusResponse(string Status);

/// <summary>
/// The cache layer's state. Hits: scans resolved from memory; misses: resolutions read from
/// PostgreSQL; unknownHits: scans of barcodes already known not to exist; evictions: product grains
/// deactivated when idle plus unknown-barcode entries dropped from the bounded set.
/// </summary>
public sealed record CacheStateResponse(
    long ActiveProductGrains, long ActiveBarcodeDirectoryGrains,
    long? Hits, long? Misses, long? UnknownHits, long? Evictions, long? ProductGrainsOnThisSilo,
    long ManagedHeapBytes, long WorkingSetBytes);
