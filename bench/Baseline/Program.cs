var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
app.MapGet("/api/v1/health", () => TypedResults.Ok(new HealthStatus("ok")));
app.Run();

internal sealed record HealthStatus(string Status);
