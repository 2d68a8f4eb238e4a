using JowiShop.Grains.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace JowiShop.Silo;

/// <summary>
/// The meters and activity sources every JowiShop process exports (docs/observability.md), and a
/// standalone silo's exporters: it has no HTTP server, so its Prometheus endpoint is the OpenTelemetry
/// HttpListener on <c>Telemetry:ManagementUrl</c> (none: no endpoint), with no authentication of its
/// own: a private address, like the silo port. OTLP as on the fronts (<c>Telemetry:Otlp:Endpoint</c>).
/// </summary>
public static class SiloTelemetry
{
    public const string Section = "Telemetry";

    /// <summary>The domain's, HTTP server, Kestrel, rate limiting, auth, the runtime, Orleans, Npgsql.</summary>
    public static readonly string[] Meters =
    [
        JowiShopMetrics.MeterName,
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.RateLimiting",
        "Microsoft.AspNetCore.Authentication",
        "Microsoft.AspNetCore.Authorization",
        "System.Runtime",
        "Microsoft.Orleans",
        "Npgsql",
    ];

    /// <summary>Traces: grain calls (both Orleans sources) and Npgsql's commands (requests come from ASP.NET Core's instrumentation on the fronts).</summary>
    public static readonly string[] ActivitySources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", "Npgsql"];

    public static bool TracingEnabled(IConfiguration configuration) => configuration.GetValue($"{Section}:Tracing:Enabled", false);

    public static double SampleRatio(IConfiguration configuration) => Math.Clamp(configuration.GetValue($"{Section}:Tracing:SampleRatio", 1.0), 0, 1);

    public static void Otlp(OpenTelemetry.Exporter.OtlpExporterOptions o, string endpoint, IConfiguration configuration)
    {
        o.Endpoint = new Uri(endpoint);
        o.Protocol = configuration[$"{Section}:Otlp:Protocol"] == "http/protobuf"
            ? OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf
            : OpenTelemetry.Exporter.OtlpExportProtocol.Grpc;
    }

    /// <summary>A standalone silo's telemetry.</summary>
    public static IServiceCollection AddStandaloneSiloTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var management = configuration[$"{Section}:ManagementUrl"];
        var otlp = configuration[$"{Section}:Otlp:Endpoint"];
        var otel = services.AddOpenTelemetry().ConfigureResource(r => r.AddService(configuration.GetValue($"{Section}:ServiceName", "jowishop-silo")!,
            serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId));
        if (management is { Length: > 0 } || otlp is { Length: > 0 })
            otel.WithMetrics(m =>
            {
                m.AddMeter(Meters);
                if (management is { Length: > 0 })
                    m.AddPrometheusHttpListener(o =>
                    {
                        var uri = new Uri(management);
                        o.Host = uri.Host;
                        o.Port = uri.Port;
                    });
                if (otlp is { Length: > 0 })
                    m.AddOtlpExporter(o => Otlp(o, otlp, configuration));
            });
        if (TracingEnabled(configuration) && otlp is { Length: > 0 })
            otel.WithTracing(t => t.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(SampleRatio(configuration))))
                .AddSource(ActivitySources)
                .AddOtlpExporter(o => Otlp(o, otlp, configuration)));
        return services;
    }
}
