using JowiShop.Silo;
using Microsoft.AspNetCore.Authorization;
using Orleans.Dashboard;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// What this process exports (docs/observability.md): metrics always (they cost a few interlocked
/// adds per event), scraped at <c>/metrics</c> in the Prometheus format and pushed by OTLP when an
/// endpoint is configured; traces only when <c>Telemetry:Tracing:Enabled</c>, because an Activity
/// per request and per grain call is a cost the till's hot path pays. Settings:
/// <list type="bullet">
/// <item><c>Telemetry:Metrics:Enabled</c> (true), <c>Telemetry:Metrics:Path</c> (<c>/metrics</c>)</item>
/// <item><c>Telemetry:ManagementUrl</c> (none), e.g. <c>http://10.0.0.5:9464</c>: an extra listener whose
/// connections may read <c>/metrics</c> (and the dashboard) without a token; keep it off the public network</item>
/// <item><c>Telemetry:Otlp:Endpoint</c> (none: no push), <c>Telemetry:Otlp:Protocol</c> (<c>grpc</c> or <c>http/protobuf</c>)</item>
/// <item><c>Telemetry:Tracing:Enabled</c> (false), <c>Telemetry:Tracing:SampleRatio</c> (1.0, of root traces; a parent's decision is followed)</item>
/// <item><c>Telemetry:Dashboard:Enabled</c> (false), at <c>/dashboard</c>, behind the same access rule as <c>/metrics</c></item>
/// </list>
/// </summary>
public static class Telemetry
{
    public const string Section = "Telemetry";
    /// <summary>Who may read <c>/metrics</c> and the dashboard: a connection to the management listener, or an operator's token.</summary>
    public const string AccessPolicy = "telemetry";
    public const string DashboardPath = "/dashboard";

    public static bool DashboardEnabled(IConfiguration configuration) => configuration.GetValue($"{Section}:Dashboard:Enabled", false);
    public static bool MetricsEnabled(IConfiguration configuration) => configuration.GetValue($"{Section}:Metrics:Enabled", true);

    /// <summary>The management listener's port, or null (then only operators' tokens open <c>/metrics</c>).</summary>
    public static int? ManagementPort(IConfiguration configuration) =>
        configuration[$"{Section}:ManagementUrl"] is { Length: > 0 } url ? new Uri(url).Port : null;

    /// <summary>Where Prometheus scrapes (read once: the trace filter asks on every request).</summary>
    public static string MetricsPath(IConfiguration configuration) => configuration.GetValue($"{Section}:Metrics:Path", "/metrics")!;

    public static WebApplicationBuilder AddJowiShopTelemetry(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        if (configuration[$"{Section}:ManagementUrl"] is { Length: > 0 } management)
        {
            // One more listener beside the API's own (Urls / --urls), so a firewall or NetworkPolicy can keep it private.
            var urls = builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);
            // The listener admits by its port alone: shared with the API's, every public caller would pass.
            var port = ManagementPort(configuration);
            if (!string.IsNullOrEmpty(urls) && urls.Split(';').Any(u => Uri.TryCreate(u.Replace("://+", "://0.0.0.0").Replace("://*", "://0.0.0.0"), UriKind.Absolute, out var api) && api.Port == port))
                throw new InvalidOperationException($"{Section}:ManagementUrl must not share a port with the API's Urls ({urls}).");
            builder.WebHost.UseUrls(string.IsNullOrEmpty(urls) ? management : $"{urls};{management}");
        }

        var otlp = configuration[$"{Section}:Otlp:Endpoint"];
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(configuration.GetValue($"{Section}:ServiceName", "jowishop-api")!,
                serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId));
        if (MetricsEnabled(configuration) || otlp is { Length: > 0 })
            otel.WithMetrics(m =>
            {
                m.AddMeter(SiloTelemetry.Meters);
                if (MetricsEnabled(configuration))
                    m.AddPrometheusExporter();
                if (otlp is { Length: > 0 })
                    m.AddOtlpExporter(o => SiloTelemetry.Otlp(o, otlp, configuration));
            });
        var metricsPath = MetricsPath(configuration);
        if (SiloTelemetry.TracingEnabled(configuration))
            otel.WithTracing(t =>
            {
                t.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(SiloTelemetry.SampleRatio(configuration))))
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsTelemetryPath(context.Request.Path, metricsPath))
                    .AddSource(SiloTelemetry.ActivitySources);
                if (otlp is { Length: > 0 })
                    t.AddOtlpExporter(o => SiloTelemetry.Otlp(o, otlp, configuration));
            });

        builder.Services.AddSingleton<IAuthorizationHandler, ManagementListenerHandler>();
        builder.Services.AddSingleton<IAuthorizationHandler, OperatorHandler>();
        builder.Services.AddAuthorizationBuilder().AddPolicy(AccessPolicy, p => p.AddRequirements(new TelemetryAccess(ManagementPort(configuration))));
        return builder;
    }

    private static bool IsTelemetryPath(PathString path, string metricsPath) =>
        path.StartsWithSegments(metricsPath) || path.StartsWithSegments(DashboardPath);

    /// <summary>Maps <c>/metrics</c> (outside /api/v1 and the OpenAPI document: it is for Prometheus, not integrators).</summary>
    public static WebApplication MapJowiShopTelemetry(this WebApplication app)
    {
        if (MetricsEnabled(app.Configuration))
            app.MapPrometheusScrapingEndpoint(MetricsPath(app.Configuration))
                .RequireAuthorization(AccessPolicy)
                .ExcludeFromDescription();
        if (DashboardEnabled(app.Configuration))
            app.MapOrleansDashboard(routePrefix: DashboardPath)
                .RequireAuthorization(AccessPolicy)
                .ExcludeFromDescription();
        return app;
    }

    /// <summary>Met by either handler: the management listener, or an operator (<see cref="Operators"/>).</summary>
    public sealed record TelemetryAccess(int? ManagementPort) : IAuthorizationRequirement;

    /// <summary>
    /// A connection accepted on the management listener's port. The local port of the connection,
    /// never the Host header (which the caller writes).
    /// </summary>
    internal sealed class ManagementListenerHandler : AuthorizationHandler<TelemetryAccess>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, TelemetryAccess requirement)
        {
            if (requirement.ManagementPort is { } port && context.Resource is HttpContext http && http.Connection.LocalPort == port)
                context.Succeed(requirement);
            return Task.CompletedTask;
        }
    }

    /// <summary>A caller the operator policy admits, on any listener (an operator's curl, or a scraper holding an operator's token).</summary>
    internal sealed class OperatorHandler(IServiceProvider services) : AuthorizationHandler<TelemetryAccess>
    {
        protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, TelemetryAccess requirement)
        {
            if (context.User.Identity?.IsAuthenticated != true)
                return;
            var authorization = services.GetRequiredService<IAuthorizationService>();
            if ((await authorization.AuthorizeAsync(context.User, context.Resource, Operators.Policy)).Succeeded)
                context.Succeed(requirement);
        }
    }
}
