using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using JowiShop.Tests.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>
/// The domain meter is process-wide, and every in-process test host's meter provider sees every
/// host's sales: these tests run alone, after the parallel ones, so a scrape's deltas are this test's own.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryScrapes
{
    public const string Name = "telemetry scrapes";
}

[Collection(TelemetryScrapes.Name)]
public sealed class TelemetryMetricsTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task After_sales_the_scrape_shows_receipts_by_outcome_and_the_commit_latency()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 2);
        var storeId = shop.StoreIds[0];
        // Development: the owner of any tenant is an operator (Operations:OperatorTenants "*").
        var before = await PrometheusText.ScrapeAsync(shop.Owner);

        var first = shop.Sale(storeId);
        foreach (var sale in new[] { first, shop.Sale(storeId), shop.Sale(storeId) })
            Assert.Equal(HttpStatusCode.Created, (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", sale)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", first)).StatusCode); // the till's retry
        var missing = await shop.Owner.GetAsync($"/api/v1/receipts/{Guid.NewGuid()}");
        var missingCode = (await missing.AssertProblemAsync(HttpStatusCode.NotFound, "receipt.not_found")).GetProperty("code").GetString()!;

        // The exporter may answer from a short cache: poll with a deadline, never sleep a fixed time.
        var after = before;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Delta("jowishop_receipts_total", ("outcome", "replayed")) < 1 && DateTime.UtcNow < deadline)
        {
            await Task.Yield();
            after = await PrometheusText.ScrapeAsync(shop.Owner);
        }

        double Delta(string name, params (string, string)[] labels) => after.Sum(name, labels) - before.Sum(name, labels);

        Assert.Equal(3, Delta("jowishop_receipts_total", ("outcome", "created")));
        Assert.Equal(1, Delta("jowishop_receipts_total", ("outcome", "replayed")));
        Assert.Equal(0, Delta("jowishop_receipts_total", ("outcome", "unavailable")));
        // The latency of each committed sale, in seconds, and the buckets add up to the count.
        Assert.Equal(3, Delta("jowishop_receipt_duration_seconds_count", ("outcome", "created")));
        Assert.Equal(3, Delta("jowishop_receipt_duration_seconds_bucket", ("outcome", "created"), ("le", "+Inf")));
        Assert.InRange(Delta("jowishop_receipt_duration_seconds_sum", ("outcome", "created")), 0, 3 * 5.0); // within the call timeout
        // The sales were sent one after another: one to three ledger transactions, holding the three receipts.
        Assert.InRange(Delta("jowishop_ledger_commit_duration_seconds_count", ("outcome", "committed")), 1, 3);
        Assert.Equal(3, Delta("jowishop_ledger_transaction_receipts_sum"));
        Assert.Equal(3, Delta("jowishop_store_batch_sales_sum"));
        // Two variants per sale, priced from the store's cache or its product grains; the replay prices nothing.
        Assert.Equal(6, Delta("jowishop_store_price_cache_lookups_total"));
        Assert.Equal(0, Delta("jowishop_ledger_refusals_total"));
        // Problem documents by status and code.
        Assert.Equal(1, Delta("jowishop_problems_total", ("status", "404"), ("code", missingCode)));
        // No tenant or store id is ever a label.
        Assert.DoesNotContain(after.Samples, s => s.Name.StartsWith("jowishop_") && s.Labels.Values.Any(v => v.Contains(shop.TenantId.ToString())));
        Assert.DoesNotContain(after.Samples, s => s.Name.StartsWith("jowishop_") && s.Labels.Values.Any(v => v.Contains(storeId.ToString())));
        // HTTP (ASP.NET Core's meter) and Orleans' own meters are exported beside the domain's.
        Assert.True(Delta("http_server_request_duration_seconds_count", ("http_response_status_code", "201")) >= 4, "HTTP server metrics");
        Assert.Contains(after.Samples, s => s.Name.StartsWith("orleans_"));
    }

    [Fact]
    public async Task The_scrape_endpoint_is_not_in_the_OpenAPI_document()
    {
        var document = await api.Factory.CreateClient().GetStringAsync("/openapi/v1.json");
        Assert.DoesNotContain("\"/metrics\"", document);
        Assert.DoesNotContain("\"/dashboard", document);
    }
}

/// <summary>A production host: its operators are a tenant no test registers, and no management listener is configured.</summary>
public sealed class ProductionTelemetryFixture : IAsyncLifetime
{
    public ApiFactory Factory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var servers = await LocalServices.GetAsync();
        var postgres = await LocalServices.CreateDatabaseAsync("telemetry");
        Factory = new ApiFactory(postgres, servers.RedisConnectionString, new Dictionary<string, string?>
        {
            ["environment"] = "Production",
            ["Jwt:SigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
            ["Operations:OperatorTenants:0"] = Guid.NewGuid().ToString(),
        });
        _ = Factory.Server;
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

public sealed class ProductionTelemetryAccessTests(ProductionTelemetryFixture host) : IClassFixture<ProductionTelemetryFixture>
{
    [Fact]
    public async Task Metrics_are_refused_to_anonymous_callers_and_to_a_tenant_owner_who_is_no_operator()
    {
        var anonymous = await host.Factory.CreateClient().GetAsync("/metrics");
        await anonymous.AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.unauthenticated");
        Assert.DoesNotContain("jowishop_", await anonymous.Content.ReadAsStringAsync());

        var (owner, _) = await host.Factory.RegisterAsync();
        var forbidden = await owner.GetAsync("/metrics");
        var problem = await forbidden.AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        Assert.Contains("management listener", problem.GetProperty("detail").GetString());

        // The Host header is the caller's to write: naming a management port in it opens nothing.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Host = "localhost:9464";
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Factory.CreateClient().SendAsync(request)).StatusCode);
    }
}

/// <summary>A host with the Orleans dashboard turned on (it is off by default).</summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public ApiFactory Factory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var servers = await LocalServices.GetAsync();
        var postgres = await LocalServices.CreateDatabaseAsync("dashboard");
        Factory = new ApiFactory(postgres, servers.RedisConnectionString, new Dictionary<string, string?>
        {
            ["Telemetry:Dashboard:Enabled"] = "true",
        });
        _ = Factory.Server;
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

public sealed class TelemetryDashboardTests(DashboardFixture host) : IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task The_dashboard_is_served_to_operators_only()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Factory.CreateClient().GetAsync("/dashboard/")).StatusCode);

        // Development: the owner of any tenant is an operator.
        var (owner, _) = await host.Factory.RegisterAsync();
        var page = await owner.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        // Its page loads its own scripts and styles: the docs' policy, not the API's "nothing may load".
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
    }
}
