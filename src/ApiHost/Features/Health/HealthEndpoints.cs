using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using JowiShop.ApiHost.Infrastructure;
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
        var group = api.MapGroup("/health").WithTags("Health");
        // Liveness: the process answers HTTP. Deliberately touches nothing else: short-circuited
        // at routing, so probes skip authentication, request logging and error pages.
        group.MapGet("/", () => TypedResults.Ok(new HealthStatusResponse("ok")))
            .ShortCircuit()
            .AllowAnonymous()
            .WithSummary("Liveness: the API process answers.")
            .WithName("getLiveness").TouchesNothing();
        // Readiness: anyone (probes, balancers) gets the status; operators also get each check.
        group.MapHealthChecks("/ready", new HealthCheckOptions
        {
            ResponseWriter = WriteReadiness,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        }).AllowAnonymous();
        // Walks every silo's activations and shows deployment-wide figures: the deployment's operators only.
        group.MapGet("/cache", CacheState).RequireAuthorization(Operators.Policy)
            .WithSummary("The barcode cache: active product grains in the cluster, and this silo's hits, misses and evictions (operators).");
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

    /// <summary>
    /// <c>{"status": "ok" | "degraded" | "down"}</c>; the checks (what failed, error messages, silo
    /// counts, timings) only to operators: they describe the deployment's internals.
    /// </summary>
    private static async Task WriteReadiness(HttpContext context, HealthReport report)
    {
        var authorization = context.RequestServices.GetRequiredService<IAuthorizationService>();
        if (context.User.Identity?.IsAuthenticated != true || !(await authorization.AuthorizeAsync(context.User, Operators.Policy)).Succeeded)
        {
            await context.Response.WriteAsJsonAsync(new HealthStatusResponse(Status(report.Status)));
            return;
        }
        await context.Response.WriteAsJsonAsync(new
        {
            status = Status(report.Status),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = Status(e.Value.Status),
                description = e.Value.Description ?? e.Value.Exception?.Message,
                durationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 1),
            }),
        });
    }

    private static string Status(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "ok",
        HealthStatus.Degraded => "degraded",
        _ => "down",
    };
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
