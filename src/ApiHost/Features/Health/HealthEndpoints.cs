using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

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
        // Liveness: the process answers HTTP. Deliberately touches nothing else.
        group.MapGet("/", () => TypedResults.Ok(new HealthStatusResponse("ok")))
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
        return api;
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
