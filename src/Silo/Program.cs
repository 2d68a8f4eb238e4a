using JowiShop.Grains.Persistence;
using JowiShop.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

// A standalone silo: grains only, no HTTP. API fronts reach it as Orleans clients.
var builder = Host.CreateApplicationBuilder(args);
if (builder.Configuration.GetValue("Database:MigrateOnStart", true))
    DatabaseMigrator.Apply(SiloConfiguration.PostgresConnectionString(builder.Configuration));

builder.UseOrleans(silo =>
{
    silo.AddJowiShopGrains(builder.Configuration).UseJowiShopClustering(builder.Configuration);
    if (SiloTelemetry.TracingEnabled(builder.Configuration))
        silo.AddActivityPropagation(); // grain calls as spans (a cost per call: only when tracing)
});
// Metrics at Telemetry:ManagementUrl (Prometheus) and by OTLP when configured: docs/observability.md.
builder.Services.AddStandaloneSiloTelemetry(builder.Configuration);

await builder.Build().RunAsync();
