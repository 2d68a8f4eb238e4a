using System.Net;
using System.Text.Json;
using JowiShop.Tests.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Api;

public sealed class HealthAndDocsTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Liveness_answers_ok_without_auth()
    {
        var response = await api.Factory.CreateClient().GetAsync("/api/v1/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{\"status\":\"ok\"}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Readiness_tells_anonymous_callers_the_status_only()
    {
        var response = await api.Factory.CreateClient().GetAsync("/api/v1/health/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{\"status\":\"ok\"}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Readiness_checks_postgres_redis_and_the_silo_and_shows_them_to_operators()
    {
        // Development lists every tenant as an operator (appsettings.Development.json), so an owner qualifies.
        var (owner, _) = await api.Factory.RegisterAsync();
        var response = await owner.GetAsync("/api/v1/health/ready");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        Assert.Equal("ok", body.GetProperty("status").GetString());
        foreach (var check in new[] { "postgres", "redis", "silo" })
            Assert.Equal("ok", body.GetProperty("checks").GetProperty(check).GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_cache_figures_need_an_operator_token()
    {
        await (await api.Factory.CreateClient().GetAsync("/api/v1/health/cache"))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.unauthenticated");
        var (owner, registration) = await api.Factory.RegisterAsync();
        var cashier = await TestUsers.AddAndLoginAsync(api.Factory, registration.TenantId, "cashier");
        await (await cashier.GetAsync("/api/v1/health/cache")).AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        var manager = await TestUsers.AddAndLoginAsync(api.Factory, registration.TenantId, "manager");
        await (await manager.GetAsync("/api/v1/health/cache")).AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/api/v1/health/cache")).StatusCode);
    }

    [Fact]
    public async Task Every_answer_carries_the_security_headers()
    {
        var anonymous = api.Factory.CreateClient();
        var (owner, _) = await api.Factory.RegisterAsync();
        var answers = new[]
        {
            (Status: HttpStatusCode.OK, Response: await anonymous.GetAsync("/api/v1/health")), // short-circuited at routing
            (Status: HttpStatusCode.OK, Response: await owner.GetAsync("/api/v1/stores")),
            (Status: HttpStatusCode.Unauthorized, Response: await anonymous.GetAsync("/api/v1/stores")),
            (Status: HttpStatusCode.NotFound, Response: await owner.GetAsync($"/api/v1/stores/{Guid.NewGuid()}")),
            (Status: HttpStatusCode.NotFound, Response: await owner.GetAsync("/api/v1/no-such-thing")),
            (Status: HttpStatusCode.BadRequest, Response: await anonymous.PostAsync("/api/v1/auth/login",
                new StringContent("{", System.Text.Encoding.UTF8, "application/json"))), // through the exception handler
        };
        foreach (var (status, response) in answers)
        {
            var where = $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri!.PathAndQuery}";
            Assert.True(response.StatusCode == status, $"{where}: {(int)response.StatusCode}");
            Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
            Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
            Assert.Equal("DENY", Header(response, "X-Frame-Options"));
            Assert.Equal("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'", Header(response, "Content-Security-Policy"));
            // (The exception handler's own "no-cache,no-store" on its answers is kept.)
            Assert.Contains("no-store", Header(response, "Cache-Control"));
            // Plain HTTP from no known proxy: no HSTS (KestrelEdgeTests covers a forwarded https request).
            Assert.Null(Header(response, "Strict-Transport-Security"));
        }

        // The docs page keeps a policy under which it runs: its script and styles, from this host only.
        var docs = await anonymous.GetAsync("/docs/");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        var policy = Header(docs, "Content-Security-Policy")!;
        Assert.Contains("script-src 'self' 'unsafe-inline'", policy);
        Assert.Contains("connect-src 'self'", policy);
        Assert.Equal("nosniff", Header(docs, "X-Content-Type-Options"));
        var html = await docs.Content.ReadAsStringAsync();
        // Every script the page loads is served by this host (a CDN script would be blocked by the policy).
        foreach (System.Text.RegularExpressions.Match script in System.Text.RegularExpressions.Regex.Matches(html, "<script[^>]*src=\"([^\"]+)\""))
        {
            var src = script.Groups[1].Value;
            Assert.False(src.StartsWith("http", StringComparison.OrdinalIgnoreCase) || src.StartsWith("//"), $"external script {src}");
            var asset = await anonymous.GetAsync(new Uri(docs.RequestMessage!.RequestUri!, src));
            Assert.True(asset.StatusCode == HttpStatusCode.OK, $"{src}: {(int)asset.StatusCode}");
        }
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;

    [Fact]
    public async Task OpenApi_document_and_docs_page_are_served()
    {
        var client = api.Factory.CreateClient();
        var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json")).RootElement;
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/stores", "/api/v1/stores/{id}", "/api/v1/health" })
            Assert.True(paths.TryGetProperty(path, out _), $"{path} missing from the OpenAPI document");
        Assert.True(document.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("Bearer", out _));

        var docs = await client.GetAsync("/docs/");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Contains("text/html", docs.Content.Headers.ContentType?.ToString());
    }

    [Fact]
    public async Task Unknown_routes_are_404_problems()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        await (await client.GetAsync("/api/v1/no-such-thing")).AssertProblemAsync(HttpStatusCode.NotFound, "resource.not_found");
    }
}
