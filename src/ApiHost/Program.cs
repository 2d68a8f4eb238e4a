using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using JowiShop.ApiHost.Features.Audit;
using JowiShop.ApiHost.Features.Auth;
using JowiShop.ApiHost.Features.Customers;
using JowiShop.ApiHost.Features.Health;
using JowiShop.ApiHost.Features.Products;
using JowiShop.ApiHost.Features.Receipts;
using JowiShop.ApiHost.Features.Search;
using JowiShop.ApiHost.Features.Staff;
using JowiShop.ApiHost.Features.Stores;
using JowiShop.ApiHost.Features.Tenant;
using JowiShop.ApiHost.Features.Taxes;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Persistence;
using JowiShop.Silo;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.HttpLogging;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.IdentityModel.Tokens;
using Orleans.Configuration;
using Orleans.Dashboard;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);
var configuration = builder.Configuration;

builder.Logging.ClearProviders();
builder.Logging.AddJsonConsole(o =>
{
    o.IncludeScopes = true;
    o.UseUtcTimestamp = true;
    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
});

// Orleans: co-host a silo (default), or be a client of standalone silos ("client").
var topology = configuration.GetValue("Orleans:Topology", "cohosted");
var postgres = SiloConfiguration.PostgresConnectionString(configuration);
// Build-time OpenAPI document (sdk/generate runs dotnet-getdocument): the host is built and started
// with no server to write the document, and touches no database, Redis or silo (see below).
var documentOnly = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name == "GetDocument.Insider";
if (!documentOnly && configuration.GetValue("Database:MigrateOnStart", true))
    DatabaseMigrator.Apply(postgres);
if (topology == "client")
{
    builder.UseOrleansClient(client =>
    {
        client.UseJowiShopClustering(configuration);
        if (JowiShop.Silo.SiloTelemetry.TracingEnabled(configuration))
            client.AddActivityPropagation(); // grain calls as spans of the request (a cost per call: only when tracing)
        if (Telemetry.DashboardEnabled(configuration))
            client.AddDashboard(); // the Orleans dashboard at /dashboard, operators only (docs/observability.md)
    });
    builder.Services.AddJowiShopDatabase(postgres);
}
else
{
    builder.UseOrleans(silo =>
    {
        silo.AddJowiShopGrains(configuration).UseJowiShopClustering(configuration);
        if (JowiShop.Silo.SiloTelemetry.TracingEnabled(configuration))
            silo.AddActivityPropagation(); // grain calls as spans of the request (a cost per call: only when tracing)
        if (Telemetry.DashboardEnabled(configuration))
            silo.AddDashboard(); // the Orleans dashboard at /dashboard, operators only; profiles every grain call, so off by default
    });
}

// Auth: HS256 bearer tokens carrying user, tenant and role.
var jwt = configuration.GetSection(JwtSettings.Section).Get<JwtSettings>() ?? new JwtSettings();
jwt.Validate(builder.Environment);
builder.Services.AddSingleton(jwt);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<AccessTokenIssuer>();
builder.Services.AddSingleton<Accounts>();
builder.Services.AddSingleton<Sessions>();
builder.Services.AddSingleton<ProductQueries>();
builder.Services.AddSingleton<ScannedBarcodes>();
builder.Services.AddSingleton<VariantProducts>();
builder.Services.AddSingleton<ReceiptQueries>();
builder.Services.AddSingleton<Employees>();
builder.Services.AddSingleton<ValidatedTokenCache>();
builder.Services.AddSingleton<StaffAccessLeases>();
builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
{
    o.MapInboundClaims = false;
    o.SaveToken = false; // nothing reads the raw token back from the authentication properties
    o.TokenValidationParameters = new TokenValidationParameters
    {
        ValidIssuer = jwt.Issuer,
        ValidAudience = jwt.Audience,
        IssuerSigningKey = jwt.Key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        NameClaimType = TenantClaims.Name,
        RoleClaimType = TenantClaims.Role,
        ClockSkew = TimeSpan.FromSeconds(30),
    };
    o.Events = new JwtBearerEvents { OnTokenValidated = StaffAccessCheck.OnTokenValidatedAsync, OnChallenge = AuthProblems.OnChallengeAsync };
});
// Validated tokens are remembered until they expire (see ValidatedTokenCache).
builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
    .Configure<ValidatedTokenCache>((o, cache) =>
    {
        o.TokenHandlers.Clear();
        o.TokenHandlers.Add(cache);
    });
Policies.Add(builder.Services.AddAuthorizationBuilder());
builder.Services.AddAuthorizationBuilder().AddOperatorPolicy(configuration);
// Metrics (/metrics: the management listener or an operator), OTLP, tracing: docs/observability.md.
builder.AddJowiShopTelemetry();

// Bounded cost: rate limits (RateLimits:*), concurrent password hashes, proxies believed for the client address.
builder.Services.AddJowiShopRateLimits(configuration);
builder.Services.AddJowiShopForwardedHeaders(configuration);

// Errors: RFC 9457 problem details with a stable code and the trace id.
builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = AuthProblems.Customize);
// 403s from a policy name the role needed (AuthProblems).
builder.Services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, AuthProblems.ResultHandler>();
builder.Services.AddExceptionHandler<PasswordHashingBusyHandler>();
builder.Services.AddExceptionHandler<ApiExceptionHandler>();
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.ConfigureHttpJsonOptions(o =>
{
    o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
    o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
    RequestRules.Configure(o.SerializerOptions); // unknown members, duplicate keys, control characters: 400 (docs/input.md)
});

builder.Services.AddHttpLogging(o =>
{
    o.LoggingFields = HttpLoggingFields.RequestMethod | HttpLoggingFields.RequestPath
        | HttpLoggingFields.ResponseStatusCode | HttpLoggingFields.Duration;
    o.CombineLogs = true;
});
builder.Services.AddHttpLoggingInterceptor<RequestLogInterceptor>();

builder.Services.AddSingleton(new RedisConnection(SiloConfiguration.RedisOptions(configuration)));
builder.Services.AddReadinessChecks();
// The document is the contract (docs/api.md): every status, the Problem schema, operationIds, decimals.
builder.Services.AddOpenApi(o => o.AddDocumentTransformer<BearerSecurityScheme>().AddDocumentTransformer(ApiContract.DescribeDocument)
    .AddDocumentTransformer(RequestShapes.Describe)
    .AddSchemaTransformer(RequestRules.DescribeStrictTypes).AddSchemaTransformer(ApiContract.DescribeNumbers)
    .AddOperationTransformer(ApiContract.DescribeOperation));

// Every service stays registered (the endpoints' parameters bind, and are documented, as in the real
// host), but nothing starts: no silo, no membership, no connections.
if (documentOnly)
    builder.Services.RemoveAll<IHostedService>();

var app = builder.Build();

app.UseForwardedHeaders();
app.UseSecurityHeaders("/docs");
app.UseRouting(); // after the two above, so that short-circuited endpoints (liveness) get the headers too
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseHttpLogging();
app.UseRequestBodyLimits(configuration.GetValue($"{RequestBodyLimits.Section}:DefaultBodyBytes", RequestBodyLimits.Default));
app.UseAuthentication();
app.UseRateLimiter();
app.UseAuthorization();

app.MapOpenApi();
// No web fonts from Scalar's CDN: the docs page's Content-Security-Policy loads nothing from elsewhere.
app.MapScalarApiReference("/docs", o => o.WithTitle("JowiShop API").DisableDefaultFonts());

app.MapJowiShopTelemetry();

var api = app.MapGroup("/api/v1");
api.AddRequestRules(); // route and query text, UTC times, no null array elements (docs/input.md)
api.MapHealthEndpoints();
api.MapAuthEndpoints();
api.MapTenantEndpoints();
api.MapTaxEndpoints();
api.MapStoreEndpoints();
api.MapProductEndpoints();
api.MapCategoryEndpoints();
api.MapReceiptEndpoints();
api.MapInventoryEndpoints();
api.MapCustomerEndpoints();
api.MapSearchEndpoints();
api.MapEmployeeEndpoints();
api.MapAuditEndpoints();

app.Run();

/// <summary>Entry point, visible to the API tests' WebApplicationFactory.</summary>
public partial class Program;
