using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using JowiShop.ApiHost.Features.Auth;
using JowiShop.ApiHost.Features.Products;
using JowiShop.ApiHost.Features.Staff;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Customers;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;

namespace JowiShop.Tests.Api;

/// <summary>
/// Issue 11, "a role hierarchy that cannot be climbed": every route of the running app under
/// /api/v1, read from its endpoint metadata, is called by every kind of caller (anonymous, a
/// cashier, a manager, an admin and the owner of tenant A, and the owner of tenant B) with real
/// ids of tenant A, and each answer is checked against the route's declared policy. A new route
/// without a policy, with an unknown policy, anonymous without being on the allowlist, or with a
/// route parameter or DELETE target this class does not know how to fill, fails here.
/// </summary>
public sealed class RouteAccessMatrixTests(ApiFixture api, ITestOutputHelper output) : IClassFixture<ApiFixture>
{
    private const string ApiPrefix = "/api/v1";
    private const string OwnerPassword = "Secret#12345"; // ApiFactory.RegisterAsync's password

    /// <summary>The only routes anyone may call without a token. Anything else anonymous fails the suite.</summary>
    private static readonly HashSet<string> AnonymousAllowlist =
    [
        "GET /api/v1/health",        // liveness
        "* /api/v1/health/ready",    // readiness (MapHealthChecks: any method)
        "POST /api/v1/auth/register",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/refresh",
    ];

    /// <summary>Least role each policy admits (Policies in TenantClaims.cs): staff &lt; manager &lt; admin &lt; owner; operator as admin.</summary>
    private static readonly Dictionary<string, int> PolicyRank = new(StringComparer.Ordinal)
    {
        [Policies.Staff] = 1,
        [Policies.Manager] = 2,
        [Policies.Admin] = 3,
        [Policies.Owner] = 4,
        // Owners and admins of the operating tenants; Development (the tests) names every tenant.
        [JowiShop.ApiHost.Infrastructure.Operators.Policy] = 3,
    };

    /// <summary>Routes that end every session of the caller: called with a throwaway login, and the caller logs in again after.</summary>
    private static readonly HashSet<string> SessionEnding = ["POST /api/v1/auth/logout", "POST /api/v1/auth/password"];

    [Fact]
    public void Every_api_route_declares_a_known_policy_or_is_an_allowlisted_anonymous_route()
    {
        var routes = Routes();
        var problems = MetadataProblems(routes);
        output.WriteLine($"{routes.Count} routes under {ApiPrefix}:");
        foreach (var route in routes)
            output.WriteLine($"  {route.Key,-62} {(route.Anonymous ? "anonymous" : string.Join("+", route.Policies))}");
        Assert.True(problems.Count == 0, $"{problems.Count} route metadata problem(s):\n" + string.Join("\n", problems));
        Assert.NotEmpty(routes);
    }

    [Fact]
    public async Task Every_route_answers_every_caller_as_its_policy_says()
    {
        var routes = Routes();
        var mismatches = MetadataProblems(routes);
        var f = await FixtureAsync();
        Caller[] callers = [f.Anonymous, f.Cashier, f.Manager, f.Admin, f.ForeignOwner, f.Owner];

        // Reads and non-destructive writes first, least-privileged caller first and the owner last;
        // then DELETEs (each to a throwaway resource of tenant A); then the routes that end sessions.
        var phases = new[]
        {
            routes.Where(r => r.Method != "DELETE" && !SessionEnding.Contains(r.Key)).ToList(),
            routes.Where(r => r.Method == "DELETE").ToList(),
            routes.Where(r => SessionEnding.Contains(r.Key)).ToList(),
        };
        var checks = 0;
        var grid = new Dictionary<(string Route, string Caller), string>();
        foreach (var phase in phases)
            foreach (var caller in callers)
                foreach (var route in phase)
                {
                    checks++;
                    var (answer, mismatch) = await CheckAsync(route, caller, f);
                    grid[(route.Key, caller.Name)] = mismatch is null ? answer : answer + "!";
                    if (mismatch is not null)
                        mismatches.Add(mismatch);
                }

        output.WriteLine($"{routes.Count} routes x {callers.Length} callers = {checks} checks, {mismatches.Count} mismatch(es) (! marks one)");
        output.WriteLine($"{"route",-62}" + string.Concat(callers.Select(c => $"{c.Name,12}")));
        foreach (var route in routes)
            output.WriteLine($"{route.Key,-62}" + string.Concat(callers.Select(c => $"{grid[(route.Key, c.Name)],12}")));
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatch(es) in {checks} checks:\n" + string.Join("\n", mismatches));
    }

    // ---- Routes from the endpoint metadata ----

    private sealed record RouteInfo(string Method, string Template, IReadOnlyList<(string Name, string Prefix)> Parameters,
        IReadOnlyList<string?> Policies, bool AllowAnonymous, bool InlinePolicy)
    {
        public string Key => $"{Method} {Template}";

        /// <summary>Anonymous only when nothing asks for a policy: a route with both is expected to enforce its policy.</summary>
        public bool Anonymous => AllowAnonymous && Policies.Count == 0 && !InlinePolicy;

        /// <summary>The least role that may pass every policy on the route (they all must pass); null when a policy is unknown.</summary>
        public int? Rank => Policies.Count == 0 || Policies.Any(p => p is null || !PolicyRank.ContainsKey(p)) ? null : Policies.Max(p => PolicyRank[p!]);

        /// <summary>GET for routes mapped without methods (any method answers).</summary>
        public HttpMethod HttpMethod => Method == "*" ? HttpMethod.Get : new HttpMethod(Method);
    }

    private List<RouteInfo> Routes()
    {
        var source = api.Factory.Services.GetRequiredService<EndpointDataSource>();
        var routes = new List<RouteInfo>();
        foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
        {
            var segments = endpoint.RoutePattern.PathSegments;
            var texts = segments.Select(s => string.Concat(s.Parts.Select(p => p switch
            {
                RoutePatternLiteralPart literal => literal.Content,
                RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
                RoutePatternSeparatorPart separator => separator.Content,
                _ => throw new InvalidOperationException($"Unknown route pattern part {p.GetType().Name} in {endpoint.RoutePattern.RawText}"),
            }))).ToArray();
            var template = "/" + string.Join("/", texts);
            if (template != ApiPrefix && !template.StartsWith(ApiPrefix + "/", StringComparison.Ordinal))
                continue;
            var parameters = new List<(string, string)>();
            for (var i = 0; i < segments.Count; i++)
                foreach (var part in segments[i].Parts.OfType<RoutePatternParameterPart>())
                    parameters.Add((part.Name, "/" + string.Join("/", texts.Take(i + 1))));
            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToArray();
            var inline = endpoint.Metadata.GetOrderedMetadata<AuthorizationPolicy>().Count > 0;
            var allowAnonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } m ? m : ["*"];
            foreach (var method in methods)
                routes.Add(new RouteInfo(method, template, parameters, policies, allowAnonymous, inline));
        }
        return routes.OrderBy(r => r.Template, StringComparer.Ordinal).ThenBy(r => r.Method, StringComparer.Ordinal).ToList();
    }

    private static List<string> MetadataProblems(IReadOnlyList<RouteInfo> routes)
    {
        var problems = new List<string>();
        foreach (var route in routes)
        {
            if (route.InlinePolicy)
                problems.Add($"{route.Key}: an inline AuthorizationPolicy; use one of the named policies ({string.Join(", ", PolicyRank.Keys)})");
            if (route.Policies.Count == 0 && !route.AllowAnonymous && !route.InlinePolicy)
                problems.Add($"{route.Key}: neither a policy nor AllowAnonymous");
            foreach (var policy in route.Policies.Where(p => p is null || !PolicyRank.ContainsKey(p)))
                problems.Add($"{route.Key}: policy '{policy ?? "(default, unnamed)"}' is not one of {string.Join(", ", PolicyRank.Keys)}");
            if (route.AllowAnonymous && (route.Policies.Count > 0 || route.InlinePolicy))
                problems.Add($"{route.Key}: AllowAnonymous and policy {string.Join("+", route.Policies)}: ASP.NET Core's authorization middleware " +
                    "skips every policy of an endpoint that carries IAllowAnonymous (here inherited from its group), so the policy is never enforced");
            if (route.Anonymous && !AnonymousAllowlist.Contains(route.Key))
                problems.Add($"{route.Key}: anonymous but not on the anonymous allowlist");
        }
        foreach (var allowed in AnonymousAllowlist.Where(a => !routes.Any(r => r.Key == a && r.Anonymous)))
            problems.Add($"{allowed}: on the anonymous allowlist but no such anonymous route exists");
        return problems;
    }

    // ---- Callers and tenant A's fixture ----

    private sealed class Caller(string name, int rank, bool foreign, string? login)
    {
        public string Name => name;
        /// <summary>0 anonymous, 1 cashier, 2 manager, 3 admin, 4 owner.</summary>
        public int Rank => rank;
        /// <summary>The owner of tenant B, calling with tenant A's ids.</summary>
        public bool Foreign => foreign;
        public string? Login => login;
        public string Password => rank == 4 ? OwnerPassword : TestUsers.Password;
        public HttpClient Client { get; set; } = null!;
        public override string ToString() => name;
    }

    private sealed record Fixture(
        TestShop Shop, Caller Anonymous, Caller Cashier, Caller Manager, Caller Admin, Caller Owner, Caller ForeignOwner,
        Guid Store, Guid OtherStore, Guid Terminal, Product Catalog, Category Category, Customer Customer, Receipt Receipt,
        Guid SubjectEmployee, string Marker, IReadOnlyList<string> Secrets)
    {
        public Guid SoldVariant => Receipt.Items[0].VariantId;
    }

    private async Task<Fixture> FixtureAsync()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2, products: 3);
        var owner = shop.Owner;
        var (store, otherStore) = (shop.StoreIds[0], shop.StoreIds[1]);
        var marker = Guid.NewGuid().ToString("N")[..10];

        var category = await (await owner.PostAsJsonAsync("/api/v1/categories", new { name = $"Alpha Category {marker}" }))
            .ReadAsync<Category>(HttpStatusCode.Created);
        var catalog = await TestCatalog.CreateProductAsync(owner, $"Alpha Widget {marker}", TestCatalog.Variant(name: "Alpha variant"));
        var customer = await (await owner.PostAsJsonAsync("/api/v1/customers", new
        {
            name = $"Alpha Customer {marker}",
            phone = $"+99897{Random.Shared.NextInt64(1_000_000, 9_999_999)}",
            email = $"alpha-{marker}@example.com",
            cardCode = $"ALPHA-{marker}",
        })).ReadAsync<Customer>(HttpStatusCode.Created);
        // Five of each line, so that the manager, the admin and the owner can each refund one.
        var receipt = await (await owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(store, quantity: 5m))).ReadAsync<Receipt>(HttpStatusCode.Created);

        // Staff of tenant A, cashier and manager assigned to both of its stores (TestUsers' default: every store).
        var cashier = await TestUsers.AddAsync(api.Factory, shop.TenantId, Roles.Cashier);
        var manager = await TestUsers.AddAsync(api.Factory, shop.TenantId, Roles.Manager);
        var admin = await TestUsers.AddAsync(api.Factory, shop.TenantId, Roles.Admin);
        var subject = await TestUsers.AddAsync(api.Factory, shop.TenantId, Roles.Cashier); // the employee acted on
        var employeesA = await (await owner.GetAsync("/api/v1/employees?limit=100")).ReadAsync<ListPage<Employee>>();
        var ownerEmployee = employeesA.Items.Single(e => e.Role == Roles.Owner);

        var (foreign, _) = await api.Factory.RegisterAsync();
        var foreignOwner = (await (await foreign.GetAsync("/api/v1/employees")).ReadAsync<ListPage<Employee>>()).Items.Single(e => e.Role == Roles.Owner);

        var terminals = await (await owner.GetAsync("/api/v1/terminals?limit=100")).ReadAsync<ListPage<Terminal>>();
        // What tenant B must never see: every id of tenant A, its lookup keys and its names.
        var products = shop.Products.Append(catalog).ToArray();
        var secrets = new List<string> { shop.TenantId.ToString(), category.Id.ToString(), customer.Id.ToString(), receipt.Id.ToString(),
            customer.Phone!, customer.Email!, customer.CardCode!, ownerEmployee.Email!, cashier.Email, manager.Email, admin.Email, subject.Email,
            category.Name, catalog.Name, customer.Name };
        secrets.AddRange(shop.StoreIds.Select(s => s.ToString()));
        secrets.AddRange(terminals.Items.Select(t => t.Id.ToString()));
        secrets.AddRange(products.Select(p => p.Id.ToString()));
        secrets.AddRange(products.SelectMany(p => p.Variants).SelectMany(v => v.Barcodes.Append(v.Sku).Append(v.Id.ToString())));
        secrets.AddRange(employeesA.Items.SelectMany(e => new[] { e.Id.ToString(), e.UserId.ToString() }));

        return new Fixture(shop,
            new Caller("anonymous", 0, false, null) { Client = api.Factory.CreateClient() },
            new Caller("cashier(A)", 1, false, cashier.Email) { Client = cashier.Client },
            new Caller("manager(A)", 2, false, manager.Email) { Client = manager.Client },
            new Caller("admin(A)", 3, false, admin.Email) { Client = admin.Client },
            new Caller("owner(A)", 4, false, ownerEmployee.Email) { Client = owner },
            new Caller("owner(B)", 4, true, foreignOwner.Email) { Client = foreign },
            store, otherStore, shop.TerminalByStore[store], catalog, category, customer, receipt, subject.EmployeeId, marker, secrets);
    }

    // ---- Route parameters, bodies and throwaway targets ----

    /// <summary>Tenant A's real value for each route parameter, by the route's text up to and including the parameter.</summary>
    private static Dictionary<string, string> ParameterValues(Fixture f) => new(StringComparer.Ordinal)
    {
        ["/api/v1/stores/{id}"] = f.Store.ToString(),
        ["/api/v1/stores/{storeId}"] = f.Store.ToString(),
        ["/api/v1/stores/{storeId}/receipts/by-number/{number}"] = f.Receipt.ReceiptNumber,
        ["/api/v1/terminals/{id}"] = f.Terminal.ToString(),
        ["/api/v1/products/{id}"] = f.Catalog.Id.ToString(),
        ["/api/v1/products/{id}/variants/{variantId}"] = f.Catalog.Variants[0].Id.ToString(),
        ["/api/v1/products/by-barcode/{code}"] = f.Shop.Products[0].Variants[0].Barcodes[0],
        ["/api/v1/categories/{id}"] = f.Category.Id.ToString(),
        ["/api/v1/customers/{id}"] = f.Customer.Id.ToString(),
        ["/api/v1/customers/by-phone/{phone}"] = f.Customer.Phone!,
        ["/api/v1/customers/by-email/{email}"] = f.Customer.Email!,
        ["/api/v1/customers/by-card/{code}"] = f.Customer.CardCode!,
        ["/api/v1/receipts/{id}"] = f.Receipt.Id.ToString(),
        ["/api/v1/employees/{id}"] = f.SubjectEmployee.ToString(),
        ["/api/v1/taxes/rates/{id}"] = TaxSettings.Defaults(f.Shop.TenantId).DefaultRateId.ToString(),
    };

    /// <summary>Query strings that exercise a route beyond its defaults (a store the caller is assigned to, a search term).</summary>
    private static string Query(RouteInfo route, Fixture f) => route.Key switch
    {
        "GET /api/v1/products/by-barcode/{code}" => $"?storeId={f.Store}",
        // Matches tenant A's names ("Alpha Widget <marker>" and others) without naming any of them in full.
        "GET /api/v1/search" => "?query=Alpha",
        _ => "",
    };

    /// <summary>
    /// Every DELETE goes to a fresh resource of tenant A, made by A's owner for this one check: the
    /// route parameters to use. A DELETE route missing here fails the matrix.
    /// </summary>
    private async Task<Dictionary<string, string>?> ThrowawayAsync(RouteInfo route, Fixture f)
    {
        var owner = f.Owner.Client;
        switch (route.Key)
        {
            case "DELETE /api/v1/stores/{id}":
                var store = await (await owner.PostAsJsonAsync("/api/v1/stores", new { name = "Throwaway store" })).ReadAsync<Store>(HttpStatusCode.Created);
                return new() { ["id"] = store.Id.ToString() };
            case "DELETE /api/v1/terminals/{id}":
                var terminal = await (await owner.PostAsJsonAsync("/api/v1/terminals", new { storeId = f.OtherStore, name = "Throwaway till" }))
                    .ReadAsync<Terminal>(HttpStatusCode.Created);
                return new() { ["id"] = terminal.Id.ToString() };
            case "DELETE /api/v1/products/{id}":
                return new() { ["id"] = (await TestCatalog.CreateProductAsync(owner, "Throwaway product")).Id.ToString() };
            case "DELETE /api/v1/products/{id}/variants/{variantId}":
                var sku = TestCatalog.Sku();
                var product = await (await owner.PostAsJsonAsync($"/api/v1/products/{f.Catalog.Id}/variants", TestCatalog.Variant(sku: sku, name: "Throwaway")))
                    .ReadAsync<Product>(HttpStatusCode.Created);
                return new() { ["id"] = f.Catalog.Id.ToString(), ["variantId"] = product.Variants.Single(v => v.Sku == sku).Id.ToString() };
            case "DELETE /api/v1/categories/{id}":
                var category = await (await owner.PostAsJsonAsync("/api/v1/categories", new { name = "Throwaway category" })).ReadAsync<Category>(HttpStatusCode.Created);
                return new() { ["id"] = category.Id.ToString() };
            case "DELETE /api/v1/customers/{id}":
                var customer = await (await owner.PostAsJsonAsync("/api/v1/customers", new { name = "Throwaway customer" })).ReadAsync<Customer>(HttpStatusCode.Created);
                return new() { ["id"] = customer.Id.ToString() };
            case "DELETE /api/v1/employees/{id}":
                var employee = await (await owner.PostAsJsonAsync("/api/v1/employees", new
                {
                    name = "Throwaway cashier", email = $"throwaway-{Guid.NewGuid():N}@example.com", password = TestUsers.Password,
                    role = Roles.Cashier, storeIds = Array.Empty<Guid>(),
                })).ReadAsync<Employee>(HttpStatusCode.Created);
                return new() { ["id"] = employee.Id.ToString() };
            default:
                return null;
        }
    }

    /// <summary>
    /// A plausible body per route (valid, so that tenant B's owner reaches the id lookup and A's staff
    /// a real write); routes not listed get {}. The point is authorization, not success.
    /// </summary>
    private async Task<object?> BodyAsync(RouteInfo route, Caller caller, Fixture f)
    {
        var sold = f.SoldVariant;
        switch (route.Key)
        {
            case "POST /api/v1/auth/register":
                return new
                {
                    businessName = "Matrix shop", ownerName = "Matrix owner", email = $"matrix-{Guid.NewGuid():N}@example.com",
                    phone = $"+99897{Random.Shared.NextInt64(1_000_000, 9_999_999)}", password = "Secret#12345",
                };
            case "POST /api/v1/auth/login":
                return new { login = caller.Login ?? f.Cashier.Login, password = caller.Login is null ? f.Cashier.Password : caller.Password };
            case "POST /api/v1/auth/refresh":
                // A refresh token works once: a fresh login's (the anonymous caller holds the cashier's).
                var holder = caller.Login is null ? f.Cashier : caller;
                return new { refreshToken = (await LoginAsync(holder)).RefreshToken };
            case "POST /api/v1/auth/password":
                // The same password again: the change (and the end of the caller's other sessions) happens, the login stays usable.
                return new { currentPassword = caller.Password, newPassword = caller.Password };
            case "PUT /api/v1/tenant/settings":
                return new { currency = "UZS", timeZone = "Asia/Tashkent", negativeStock = "allow" };
            case "PUT /api/v1/taxes":
                return new { vatPayer = true, prices = "inclusive", defaultRateId = TaxSettings.Defaults(f.Shop.TenantId).DefaultRateId };
            case "POST /api/v1/taxes/rates":
                return new { name = $"Matrix rate {Guid.NewGuid():N}", percent = 5m };
            case "PATCH /api/v1/taxes/rates/{id}":
                return new { name = "VAT 12%" };
            case "POST /api/v1/taxes/rates/{id}/changes":
                return new { percent = 12m, effectiveFrom = "2020-01-01" };
            case "POST /api/v1/stores":
                return new { name = "Matrix store" };
            case "PATCH /api/v1/stores/{id}":
                return new { address = "Matrix street 1" };
            case "POST /api/v1/terminals":
                return new { storeId = f.OtherStore, name = "Matrix till" };
            case "PATCH /api/v1/terminals/{id}":
                return new { name = "Till 1" };
            case "POST /api/v1/products":
                return new { name = "Matrix product", variants = new[] { TestCatalog.Variant() } };
            case "PATCH /api/v1/products/{id}":
                return new { description = "Changed by the route matrix" };
            case "POST /api/v1/products/{id}/variants":
                return TestCatalog.Variant(name: "Matrix variant");
            case "PATCH /api/v1/products/{id}/variants/{variantId}":
                return new { price = 1500m };
            case "POST /api/v1/categories":
                return new { name = "Matrix category" };
            case "PATCH /api/v1/categories/{id}":
                return new { name = $"Alpha Category {f.Marker}" };
            case "POST /api/v1/customers":
                return new { name = "Matrix customer" };
            case "PATCH /api/v1/customers/{id}":
                return new { notes = "Changed by the route matrix" };
            case "POST /api/v1/receipts":
                return f.Shop.Sale(f.Store);
            case "POST /api/v1/receipts/{id}/refunds":
                return new { items = new[] { new { variantId = sold, quantity = 1m } } };
            case "POST /api/v1/inventory/receivings":
                return new { storeId = f.Store, lines = new[] { new { variantId = sold, quantity = 1m, unitCost = 100m } } };
            case "POST /api/v1/inventory/adjustments":
                return new { storeId = f.Store, reason = "other", lines = new[] { new { variantId = sold, delta = 1m } } };
            case "POST /api/v1/inventory/transfers":
                return new { fromStoreId = f.Store, toStoreId = f.OtherStore, lines = new[] { new { variantId = sold, quantity = 1m } } };
            case "POST /api/v1/employees":
                return new
                {
                    name = "Matrix hire", email = $"hire-{Guid.NewGuid():N}@example.com", password = TestUsers.Password,
                    role = Roles.Cashier, storeIds = Array.Empty<Guid>(),
                };
            case "PATCH /api/v1/employees/{id}":
                return new { position = "Matrix position" };
            case "POST /api/v1/employees/{id}/ownership":
                // A wrong password: the owner is authorized (403 auth.current_password_incorrect, not auth.forbidden)
                // without handing the business away; tenant B's owner gets the 404 of the id first.
                return new { currentPassword = "Wrong#00000" };
            default:
                return route.Method is "POST" or "PUT" or "PATCH" ? new { } : null;
        }
    }

    // ---- One check ----

    /// <summary>The status answered (or "-" when no request could be made) and the mismatch, if any.</summary>
    private async Task<(string Answer, string? Mismatch)> CheckAsync(RouteInfo route, Caller caller, Fixture f)
    {
        // Route parameters: a throwaway resource for DELETEs, tenant A's fixture otherwise.
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (route.Method == "DELETE" && route.Parameters.Count > 0)
        {
            if (await ThrowawayAsync(route, f) is not { } throwaway)
                return ("-", $"{route.Key} [{caller}]: no throwaway resource for this DELETE; add one to ThrowawayAsync");
            values = throwaway;
        }
        else
        {
            var fixture = ParameterValues(f);
            foreach (var (name, prefix) in route.Parameters)
            {
                if (!fixture.TryGetValue(prefix, out var value))
                    return ("-", $"{route.Key} [{caller}]: no tenant A value for route parameter {{{name}}} (prefix {prefix}); map it in ParameterValues");
                values[name] = value;
            }
        }
        var path = route.Template;
        foreach (var (name, value) in values)
            path = path.Replace("{" + name + "}", Uri.EscapeDataString(value), StringComparison.Ordinal);
        var url = path + Query(route, f);

        var body = await BodyAsync(route, caller, f);
        var bodyText = body is null ? null : JsonSerializer.Serialize(body, ProblemAssertions.JsonOptions);
        using var request = new HttpRequestMessage(route.HttpMethod, url);
        if (bodyText is not null)
            request.Content = new StringContent(bodyText, Encoding.UTF8, "application/json");

        // Session-ending routes run on a throwaway login of the caller; the caller's own client logs in again afterwards.
        var endsSession = SessionEnding.Contains(route.Key) && caller.Login is not null;
        var client = endsSession ? Bearer((await LoginAsync(caller)).AccessToken) : caller.Client;
        using var response = await client.SendAsync(request);
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync();
        var code = ProblemCode(response, text);
        if (endsSession)
            caller.Client = Bearer((await LoginAsync(caller)).AccessToken);

        var sent = Uri.UnescapeDataString(url) + " " + bodyText;
        var (expected, ok) = Judge(route, caller, f, status, code, text, sent, hasRouteIds: route.Parameters.Count > 0);
        return (status.ToString(), ok ? null
            : $"{route.HttpMethod.Method} {url} (route {route.Key}) [{caller}]: expected {expected}, got {status}{(code is null ? "" : " " + code)}: {Excerpt(text)}");
    }

    private static (string Expected, bool Ok) Judge(RouteInfo route, Caller caller, Fixture f, int status, string? code, string text, string sent,
        bool hasRouteIds)
    {
        if (status >= 500)
            return ("never a 5xx", false);
        if (caller.Rank == 0)
            return route.Anonymous ? ("an answer (anonymous route)", status is not (401 or 403)) : ("401", status == 401);
        if (route.Rank is not { } least)
        {
            if (!route.Anonymous)
                return ("a route with a known policy", false);
        }
        else if (caller.Rank < least)
            return ($"403 auth.forbidden (policy {string.Join("+", route.Policies)})", status == 403 && code == "auth.forbidden");

        if (!caller.Foreign)
            return ("neither 401 nor 403 auth.forbidden/store.not_assigned",
                status != 401 && !(status == 403 && code is "auth.forbidden" or "store.not_assigned"));

        // Tenant B's owner: nothing of tenant A, ever; A's ids answer 404 like ids that do not exist.
        if (f.Secrets.FirstOrDefault(s => text.Contains(s, StringComparison.OrdinalIgnoreCase) && !sent.Contains(s, StringComparison.OrdinalIgnoreCase))
            is { } leaked)
            return ($"nothing of tenant A (leaked '{leaked}')", false);
        if (hasRouteIds)
            return ("404 (tenant A's ids)", status == 404);
        if (f.Secrets.Any(s => sent.Contains(s, StringComparison.OrdinalIgnoreCase)))
            return ("400 or 404 (tenant A's ids in the request)", status is 400 or 404);
        return ("tenant B's own answer (neither 401 nor 403 auth.forbidden)", status != 401 && !(status == 403 && code == "auth.forbidden"));
    }

    // ---- Helpers ----

    private async Task<LoginResponse> LoginAsync(Caller caller)
    {
        var response = await api.Factory.CreateClient().PostAsJsonAsync("/api/v1/auth/login", new { login = caller.Login, password = caller.Password });
        return await response.ReadAsync<LoginResponse>();
    }

    private HttpClient Bearer(string token)
    {
        var client = api.Factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static string? ProblemCode(HttpResponseMessage response, string text) =>
        response.Content.Headers.ContentType?.MediaType == "application/problem+json"
        && JsonDocument.Parse(text).RootElement.TryGetProperty("code", out var code)
            ? code.GetString()
            : null;

    private static string Excerpt(string text) => text.Length <= 300 ? text : text[..300] + "...";
}
