using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using JowiShop.ApiHost.Features.Auth;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;

namespace JowiShop.Tests.Api;

/// <summary>
/// Issue 15, "the document is the contract": the served OpenAPI document is checked against the
/// running app's endpoint metadata (operationIds, security and 401/403 per policy, 503 everywhere but
/// liveness), against the number rules (no decimal as a double or a string), and real error answers
/// are checked against it: each one's status is documented for its operation, its code is among the
/// operation's <c>x-problem-codes</c>, and its body validates against the Problem schema.
/// </summary>
public sealed class OpenApiContractTests(ApiFixture api, ITestOutputHelper output) : IClassFixture<ApiFixture>
{
    private async Task<JsonElement> DocumentAsync()
    {
        var text = await api.Factory.CreateClient().GetStringAsync("/openapi/v1.json");
        // For reading by hand, and for linters: OPENAPI_OUT=path writes the document the tests saw.
        if (Environment.GetEnvironmentVariable("OPENAPI_OUT") is { Length: > 0 } file)
            await File.WriteAllTextAsync(file, text);
        return JsonDocument.Parse(text).RootElement;
    }

    private static IEnumerable<(string Path, string Method, JsonElement Operation)> Operations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject().SelectMany(path => path.Value.EnumerateObject()
            .Where(m => m.Name is "get" or "post" or "put" or "patch" or "delete")
            .Select(m => (path.Name, m.Name.ToUpperInvariant(), m.Value)));

    private static HashSet<string> Statuses(JsonElement operation) =>
        [.. operation.GetProperty("responses").EnumerateObject().Select(r => r.Name)];

    [Fact]
    public async Task Every_operation_has_a_unique_operationId_and_documents_its_auth()
    {
        var document = await DocumentAsync();
        var operations = Operations(document).ToList();
        Assert.True(operations.Count >= 55, $"only {operations.Count} operations");
        var ids = operations.Select(o => o.Operation.TryGetProperty("operationId", out var id) ? id.GetString() : null).ToList();
        Assert.Empty(operations.Where(o => !o.Operation.TryGetProperty("operationId", out _)).Select(o => $"{o.Method} {o.Path}"));
        Assert.Empty(ids.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key));
        // One name per path parameter: no two paths name the same position under the same prefix differently.
        var names = operations.Select(o => o.Path).Distinct().SelectMany(p => p.Split('/').Select((segment, i) => (Prefix: string.Join('/', p.Split('/')[..i]), segment)))
            .Where(x => x.segment.StartsWith('{')).GroupBy(x => x.Prefix).Where(g => g.Select(x => x.segment).Distinct().Count() > 1).Select(g => g.Key);
        Assert.Empty(names);

        // The policies as the app's endpoints declare them, keyed like the document's operations.
        var endpoints = api.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => (Key: $"{m} {Strip(e.RoutePattern.RawText!)}", Endpoint: e)))
            .GroupBy(x => x.Key).ToDictionary(g => g.Key, g => g.First().Endpoint);
        var failures = new List<string>();
        foreach (var (path, method, operation) in operations)
        {
            var key = $"{method} {path}";
            var statuses = Statuses(operation);
            var shape = $"{method} {Strip(path)}";
            var anonymous = operation.TryGetProperty("security", out var security) && security.GetArrayLength() == 0;
            if (!endpoints.TryGetValue(shape, out var endpoint))
            {
                failures.Add($"{key}: in the document, not among the app's endpoints");
                continue;
            }
            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).OfType<string>().ToList();
            if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            {
                if (!anonymous)
                    failures.Add($"{key}: anonymous, but without security: []");
                // (Login and refresh answer 401 for bad credentials: never the token refusals.)
                if (statuses.Contains("403") || operation.GetProperty("responses").TryGetProperty("401", out var refused)
                    && refused.GetProperty(ApiContract.ProblemCodes).EnumerateArray().Any(c => c.GetString() == "auth.unauthenticated"))
                    failures.Add($"{key}: anonymous, but documents token refusals");
            }
            else
            {
                if (anonymous || policies.Count == 0)
                    failures.Add($"{key}: needs a token, but the document or the endpoint says none");
                if (!statuses.Contains("401"))
                    failures.Add($"{key}: needs a token, 401 not documented");
                if (policies.Any(p => p != Policies.Staff) && !statuses.Contains("403"))
                    failures.Add($"{key}: policy {string.Join("+", policies)}, 403 not documented");
            }
            if (path != "/api/v1/health" && !statuses.Contains("503"))
                failures.Add($"{key}: 503 not documented");
            var readsInput = operation.TryGetProperty("requestBody", out _) || operation.TryGetProperty("parameters", out var parameters)
                && parameters.EnumerateArray().Any(p => p.GetProperty("in").GetString() != "path"
                    || !p.GetProperty("schema").TryGetProperty("format", out var format) || format.GetString() != "uuid");
            if (readsInput && !statuses.Contains("400"))
                failures.Add($"{key}: reads input, 400 not documented");
            if (path.Contains('{') && !statuses.Contains("404"))
                failures.Add($"{key}: looks up a route value, 404 not documented");
            // (Readiness answers its own JSON body when down, not a problem.)
            foreach (var response in operation.GetProperty("responses").EnumerateObject().Where(r => int.Parse(r.Name) >= 400 && path != "/api/v1/health/ready"))
            {
                var schema = response.Value.GetProperty("content").GetProperty(ApiContract.ProblemMediaType).GetProperty("schema");
                if (schema.GetProperty("$ref").GetString() != "#/components/schemas/Problem")
                    failures.Add($"{key} {response.Name}: not the Problem schema");
                if (!response.Value.TryGetProperty(ApiContract.ProblemCodes, out var codes) || codes.GetArrayLength() == 0)
                    failures.Add($"{key} {response.Name}: no {ApiContract.ProblemCodes}");
            }
        }
        // The readiness probe is a health-check endpoint (not in the API explorer): added by the document transformer.
        Assert.True(document.GetProperty("paths").TryGetProperty("/api/v1/health/ready", out var ready));
        Assert.Equal(0, ready.GetProperty("get").GetProperty("security").GetArrayLength());
        output.WriteLine($"{operations.Count} operations, " + string.Join(", ", operations.GroupBy(o => Statuses(o.Operation).Count).OrderBy(g => g.Key)
            .Select(g => $"{g.Count()} with {g.Key} statuses")));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    // Routes and document paths matched by shape: "/api/v1/stores/{storeId:guid}/reports/daily" is the document's
    // "/api/v1/stores/{id}/reports/daily" (one name per path parameter, ApiContract.OneNamePerPathParameter).
    private static string Strip(string pattern) =>
        System.Text.RegularExpressions.Regex.Replace(pattern, @"\{[^}]+\}", "{}").TrimEnd('/');

    [Fact]
    public async Task Decimals_are_numbers_documented_as_decimal_and_strings_are_refused()
    {
        var document = await DocumentAsync();
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var wrong = new List<string>();
        var decimals = 0;
        foreach (var schema in schemas.EnumerateObject())
            foreach (var property in schema.Value.TryGetProperty("properties", out var properties) ? properties.EnumerateObject() : [])
            {
                var types = Types(property.Value);
                var format = property.Value.TryGetProperty("format", out var f) ? f.GetString() : null;
                if (format is "double" or "float")
                    wrong.Add($"{schema.Name}.{property.Name}: format {format}");
                if (types.Contains("number") || types.Contains("integer"))
                {
                    if (types.Contains("string") || property.Value.TryGetProperty("pattern", out _))
                        wrong.Add($"{schema.Name}.{property.Name}: a number that may be a string");
                    decimals += format == "decimal" ? 1 : 0;
                }
            }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        Assert.True(decimals >= 30, $"only {decimals} decimal fields");
        Assert.Equal("decimal", schemas.GetProperty("VariantRequest").GetProperty("properties").GetProperty("price").GetProperty("format").GetString());

        // The strict number handling behind it: a price sent as a string is a 400 naming the field.
        var (owner, _) = await api.Factory.RegisterAsync();
        var body = $$"""{"name":"Strings","variants":[{"name":"A","sku":"{{TestCatalog.Sku()}}","barcodes":[],"price":"1000","unit":"piece"}]}""";
        var problem = await (await owner.PostAsync("/api/v1/products", new StringContent(body, Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "request.malformed");
        Assert.Equal("must be a number", problem.GetProperty("errors").GetProperty("variants[0].price")[0].GetString());
    }

    private static string[] Types(JsonElement schema) =>
        !schema.TryGetProperty("type", out var type) ? []
        : type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString()!)]
        : [type.GetString()!];

    [Fact]
    public async Task Request_bodies_are_typed_optional_fields_optional_and_null_only_where_it_clears()
    {
        var document = await DocumentAsync();
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var text = document.GetRawText();
        // Every $ref resolves (a schema removed while still referenced would break every generator).
        foreach (System.Text.RegularExpressions.Match reference in System.Text.RegularExpressions.Regex.Matches(text, "\"#/components/schemas/([^\"]+)\""))
            Assert.True(schemas.TryGetProperty(reference.Groups[1].Value, out _), $"dangling {reference.Value}");
        var patches = Operations(document).Where(o => o.Method == "PATCH").ToList();
        Assert.Equal(8, patches.Count);
        foreach (var (path, _, operation) in patches)
        {
            var reference = operation.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()!;
            var schema = schemas.GetProperty(reference.Split('/')[^1]);
            Assert.True(schema.GetProperty("properties").EnumerateObject().Any(), $"PATCH {path}: untyped body {reference}");
            Assert.False(schema.TryGetProperty("required", out _), $"PATCH {path}: a merge patch requires nothing");
        }
        var store = schemas.GetProperty("StorePatch").GetProperty("properties");
        Assert.Contains("null", Types(store.GetProperty("address")));
        Assert.DoesNotContain("null", Types(store.GetProperty("name")));
        foreach (var request in RequestShapes.Required.Keys)
        {
            var schema = schemas.GetProperty(request);
            foreach (var property in schema.GetProperty("properties").EnumerateObject())
                Assert.False(Types(property.Value).Contains("null") || property.Value.TryGetProperty("oneOf", out _), $"{request}.{property.Name} is nullable");
        }
        Assert.Equal(["storeId", "terminalId", "items", "payments"], schemas.GetProperty("ReceiptRequest").GetProperty("required").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task The_document_serves_the_Problem_schema_the_answers_are_checked_against()
    {
        var document = await DocumentAsync();
        var served = document.GetProperty("components").GetProperty("schemas").GetProperty("Problem");
        Assert.True(JsonElement.DeepEquals(ProblemSchema.Json, served), served.ToString());
        var info = document.GetProperty("info");
        Assert.False(string.IsNullOrWhiteSpace(info.GetProperty("description").GetString()));
    }

    [Fact]
    public async Task Real_error_answers_are_documented_with_their_code_and_validate_against_Problem()
    {
        var document = await DocumentAsync();
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2, products: 1);
        var variant = shop.VariantIds.First();
        var cashier = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, "cashier", [shop.StoreIds[0]]);
        var anonymous = api.Factory.CreateClient();
        var malformed = api.Factory.CreateClient();
        malformed.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not.a.token");
        // A real token of the owner, signed with the API's key, issued by a clock an hour behind: expired.
        var stale = new AccessTokenIssuer(api.Factory.Services.GetRequiredService<JwtSettings>(), new HourAgo())
            .Issue(shop.Registration.User.Id, shop.TenantId, "owner", "Owner", 1).Token;
        var expired = api.Factory.CreateClient();
        expired.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", stale);
        var receiptId = Guid.NewGuid();
        object Sale(decimal quantity) => new
        {
            id = receiptId, storeId = shop.StoreIds[0], terminalId = shop.TerminalByStore[shop.StoreIds[0]],
            items = new[] { new { variantId = variant, quantity } }, payments = new[] { new { method = "cash", amount = 1000m * quantity } },
        };
        (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", Sale(1))).EnsureSuccessStatusCode();

        var cases = new (string Operation, Func<Task<HttpResponseMessage>> Send, HttpStatusCode Status, string Code)[]
        {
            ("POST /api/v1/stores", () => shop.Owner.PostAsJsonAsync("/api/v1/stores", new { name = "" }), HttpStatusCode.BadRequest, "validation.failed"),
            ("POST /api/v1/auth/login", () => anonymous.PostAsync("/api/v1/auth/login", new StringContent("{\"login\":1}", Encoding.UTF8, "application/json")),
                HttpStatusCode.BadRequest, "request.malformed"),
            ("POST /api/v1/auth/login", () => anonymous.PostAsync("/api/v1/auth/login", new StringContent("login=a", Encoding.UTF8, "text/plain")),
                HttpStatusCode.UnsupportedMediaType, "request.unsupported_media_type"),
            ("POST /api/v1/auth/login", () => anonymous.PostAsJsonAsync("/api/v1/auth/login", new { login = "nobody@example.com", password = "Wrong#12345" }),
                HttpStatusCode.Unauthorized, "auth.invalid_credentials"),
            ("GET /api/v1/stores", () => anonymous.GetAsync("/api/v1/stores"), HttpStatusCode.Unauthorized, "auth.unauthenticated"),
            ("GET /api/v1/stores", () => malformed.GetAsync("/api/v1/stores"), HttpStatusCode.Unauthorized, "auth.token_invalid"),
            ("GET /api/v1/stores", () => expired.GetAsync("/api/v1/stores"), HttpStatusCode.Unauthorized, "auth.token_expired"),
            ("POST /api/v1/stores", () => cashier.PostAsJsonAsync("/api/v1/stores", new { name = "Nope" }), HttpStatusCode.Forbidden, "auth.forbidden"),
            ("GET /api/v1/stores/{id}/reports/daily", () => cashier.GetAsync($"/api/v1/stores/{shop.StoreIds[1]}/reports/daily"), HttpStatusCode.Forbidden, "auth.forbidden"),
            ("GET /api/v1/receipts", () => cashier.GetAsync($"/api/v1/receipts?storeId={shop.StoreIds[1]}"), HttpStatusCode.Forbidden, "store.not_assigned"),
            ("GET /api/v1/stores/{id}", () => shop.Owner.GetAsync($"/api/v1/stores/{Guid.NewGuid()}"), HttpStatusCode.NotFound, "store.not_found"),
            ("GET /api/v1/products/by-barcode/{code}", () => shop.Owner.GetAsync("/api/v1/products/by-barcode/0000000000000"), HttpStatusCode.NotFound, "barcode.not_found"),
            ("POST /api/v1/receipts", () => shop.Owner.PostAsJsonAsync("/api/v1/receipts", Sale(2)), HttpStatusCode.Conflict, "receipt.id_conflict"),
            ("POST /api/v1/products", () => shop.Owner.PostAsJsonAsync("/api/v1/products", new
                {
                    name = "Twin", variants = new[] { TestCatalog.Variant(barcode: shop.Products[0].Variants[0].Barcodes[0]) },
                }), HttpStatusCode.Conflict, "variant.barcode_taken"),
        };
        var failures = new List<string>();
        foreach (var (key, send, status, code) in cases)
        {
            using var response = await send();
            var problem = await response.AssertProblemAsync(status, code); // validates the body against Problem too
            var (method, path) = (key[..key.IndexOf(' ')].ToLowerInvariant(), key[(key.IndexOf(' ') + 1)..]);
            if (!document.GetProperty("paths").TryGetProperty(path, out var item) || !item.TryGetProperty(method, out var operation))
            {
                failures.Add($"{key}: no such operation");
                continue;
            }
            if (!operation.GetProperty("responses").TryGetProperty(((int)status).ToString(), out var documented))
                failures.Add($"{key}: answered {(int)status}, not documented");
            else if (!documented.GetProperty(ApiContract.ProblemCodes).EnumerateArray().Any(c => c.GetString() == code))
                failures.Add($"{key}: answered {(int)status} {code}, not among {documented.GetProperty(ApiContract.ProblemCodes)}");
            if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.UnsupportedMediaType or HttpStatusCode.BadRequest)
                Assert.False(string.IsNullOrWhiteSpace(problem.TryGetProperty("detail", out var d) ? d.GetString() : null), $"{key}: no detail in {problem}");
            if (code == "auth.forbidden")
                Assert.Contains("your role is cashier", problem.GetProperty("detail").GetString());
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private sealed class HourAgo : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow.AddHours(-1);
    }
}
