using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>A problem status an endpoint answers beyond those derived from its metadata, with the codes it carries.</summary>
public sealed record ProblemAnswer(int Status, IReadOnlyList<string> Codes);

/// <summary>A query value's bounds as the handler enforces them (a number's range, a text's length), and whether it must be sent.</summary>
public sealed record QueryBounds(string Name, int Minimum, int Maximum, int? Default = null, bool Required = false);

/// <summary>
/// The OpenAPI document as the contract (docs/api.md): one <c>Problem</c> schema for every error answer,
/// and on every operation every status it can answer. What follows from an endpoint's metadata is derived
/// here (400 where input is read, 401/403 from its authorization, 404 where a route value is looked up,
/// 413/415 where a body is read, 429 where a limiter applies, 503 wherever a grain or the database is
/// reached); what only the handler knows (a 409, a store-scope 403, a specific 404 code) is declared on
/// the endpoint with <see cref="ProducesProblems{TBuilder}"/>. A derived status is never guessed from
/// the handler's code.
/// </summary>
public static class ApiContract
{
    public const string ProblemSchema = "Problem";
    public const string ProblemCodes = "x-problem-codes";
    public const string ProblemMediaType = "application/problem+json";

    /// <summary>Declares a problem status the endpoint answers and the <c>code</c> values it may carry.</summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, int status, params string[] codes) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ProblemAnswer(status, codes));

    /// <summary>Declares the bounds the handler enforces on a query value (for a string: its length).</summary>
    public static TBuilder WithQueryBounds<TBuilder>(this TBuilder builder, string name, int minimum, int maximum, int? @default = null, bool required = false)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new QueryBounds(name, minimum, maximum, @default, required));

    /// <summary>Marks an endpoint that reaches no grain and no database (liveness): it cannot answer 503.</summary>
    public static TBuilder TouchesNothing<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new TouchesNothingMetadata());

    public sealed class TouchesNothingMetadata;

    // The 401 codes a bearer-protected operation may answer (AuthProblems tells them apart).
    private static readonly string[] TokenRefusals = ["auth.unauthenticated", "auth.token_invalid", "auth.token_expired", "auth.session_ended"];

    private static readonly Dictionary<int, string> Descriptions = new()
    {
        [400] = "The request was refused as it stands: `errors` names each field (by JSON path) and what it must be. Nothing was written.",
        [401] = "No valid access token: `code` tells missing, malformed, expired or ended (revoked) apart. Log in (or refresh) and retry.",
        [403] = "Authenticated, but not allowed: `detail` names the role or the store needed.",
        [404] = "No such resource in this tenant (another tenant's ids answer the same).",
        [409] = "Conflicts with the current state: `code` says which; extension fields (e.g. `conflictingVariantId`) name what it conflicts with.",
        [413] = "The request body is larger than this operation accepts.",
        [415] = "The body must be JSON: send `Content-Type: application/json`.",
        [429] = "Too many requests: wait `Retry-After` seconds.",
        [503] = "A backing service is unavailable and nothing was recorded: retry after `Retry-After` seconds (a write with the same id).",
    };

    /// <summary>Operation transformer: operationId, security, and every problem status with its codes.</summary>
    public static Task DescribeOperation(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var description = context.Description;
        var metadata = description.ActionDescriptor.EndpointMetadata;
        var method = description.HttpMethod ?? "GET";
        operation.OperationId ??= OperationId(method, description.RelativePath ?? "", metadata);

        var answers = new SortedDictionary<int, SortedSet<string>>();
        void Add(int status, IEnumerable<string> codes)
        {
            if (!answers.TryGetValue(status, out var set))
                answers[status] = set = new SortedSet<string>(StringComparer.Ordinal);
            set.UnionWith(codes);
        }

        var hasBody = operation.RequestBody is not null;
        var parameters = operation.Parameters ?? [];
        // A route value that does not fit its constraint, or an id of nothing (or of another tenant): 404.
        if (parameters.Any(p => p.In == ParameterLocation.Path))
            Add(404, ["resource.not_found"]);
        // A UUID route value that does not parse fails the route constraint (404); any other value read can be refused.
        if (hasBody || parameters.Any(p => p.In != ParameterLocation.Path || p.Schema?.Format != "uuid"))
            Add(400, ["validation.failed", "request.malformed"]);
        if (hasBody)
        {
            Add(400, ["request.invalid_value"]);
            Add(413, ["request.too_large"]);
            Add(415, ["request.unsupported_media_type"]);
        }

        DescribeBounds(parameters, metadata);

        var anonymous = metadata.OfType<IAllowAnonymous>().Any();
        var policies = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Distinct().ToList();
        if (anonymous)
            operation.Security = []; // no token: the document's global bearer requirement does not apply
        else if (metadata.OfType<IAuthorizeData>().Any())
        {
            Add(401, TokenRefusals);
            // Every token carries a staff role, so the staff policy itself never refuses; the others do.
            if (policies.Any(p => p != Policies.Staff))
                Add(403, ["auth.forbidden"]);
            // The tenant write limiter (RateLimits) counts every authenticated write.
            if (method is "POST" or "PUT" or "PATCH" or "DELETE")
                Add(429, ["request.rate_limited"]);
        }
        if (metadata.OfType<EnableRateLimitingAttribute>().Any())
            Add(429, ["request.rate_limited"]);
        // Everything but liveness (short-circuited, it touches nothing) reaches a grain or the database.
        if (!metadata.OfType<TouchesNothingMetadata>().Any())
            Add(503, ["service.unavailable"]);
        foreach (var declared in metadata.OfType<ProblemAnswer>())
            Add(declared.Status, declared.Codes);

        // Who may call it, in words (the roles are otherwise only the policy's name).
        if (!anonymous && policies.Count > 0)
        {
            var who = $"Who: {AuthProblems.RolesOf(policies.FirstOrDefault(p => p != Policies.Staff) ?? Policies.Staff)}.";
            if (answers.TryGetValue(403, out var forbidden) && forbidden.Contains("store.not_assigned"))
                who += " Cashiers and managers only at the stores they are assigned to (403 `store.not_assigned`).";
            operation.Description = string.IsNullOrEmpty(operation.Description) ? who : operation.Description + "\n\n" + who;
        }
        else if (anonymous && string.IsNullOrEmpty(operation.Description))
            operation.Description = "Who: anyone; no token.";

        operation.Responses ??= new OpenApiResponses();
        // The framework's own error entries (HttpValidationProblemDetails, ProblemDetails) give way to the one Problem schema.
        foreach (var status in operation.Responses.Keys.Where(k => int.TryParse(k, out var s) && s >= 400).ToList())
            if (!answers.ContainsKey(int.Parse(status)))
                Add(int.Parse(status), []);
        foreach (var (status, codes) in answers)
            operation.Responses[status.ToString()] = ProblemResponse(status, codes, policies, context.Document);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Paging values as <see cref="Paging.TryCreate"/> checks them (page from 1, limit 1 to
    /// <see cref="PageRequest.MaxLimit"/>) wherever both are read, and the declared bounds of others.
    /// </summary>
    private static void DescribeBounds(IList<IOpenApiParameter> parameters, IList<object> metadata)
    {
        var query = parameters.Where(p => p.In == ParameterLocation.Query).OfType<OpenApiParameter>().ToDictionary(p => p.Name!);
        var bounds = metadata.OfType<QueryBounds>().ToList();
        if (query.ContainsKey("page") && query.ContainsKey("limit"))
            bounds.InsertRange(0, [new QueryBounds("page", 1, int.MaxValue, 1), new QueryBounds("limit", 1, JowiShop.Grains.Abstractions.PageRequest.MaxLimit, JowiShop.Grains.Abstractions.PageRequest.DefaultLimit)]);
        foreach (var bound in bounds)
        {
            if (!query.TryGetValue(bound.Name, out var parameter) || parameter.Schema is not OpenApiSchema schema)
                continue;
            if ((schema.Type ?? 0).HasFlag(JsonSchemaType.String))
                (schema.MinLength, schema.MaxLength) = (bound.Minimum, bound.Maximum);
            else
            {
                schema.Minimum = bound.Minimum.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (bound.Maximum != int.MaxValue)
                    schema.Maximum = bound.Maximum.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (bound.Default is { } value)
                    schema.Default = JsonValue.Create(value);
            }
            if (bound.Required)
                parameter.Required = true;
        }
    }

    private static OpenApiResponse ProblemResponse(int status, IReadOnlyCollection<string> codes, IReadOnlyList<string> policies, OpenApiDocument? document)
    {
        var text = Descriptions.GetValueOrDefault(status, "A problem document.");
        if (status == 403 && policies.FirstOrDefault(p => p != Policies.Staff) is { } policy)
            text += $" Policy `{policy}`: {AuthProblems.RolesOf(policy)}.";
        if (codes.Count > 0)
            text += " Codes: " + string.Join(", ", codes.Select(c => $"`{c}`")) + ".";
        var response = new OpenApiResponse
        {
            Description = text,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                [ProblemMediaType] = new() { Schema = new OpenApiSchemaReference(ProblemSchema, document) },
            },
            Extensions = new Dictionary<string, IOpenApiExtension>
            {
                [ProblemCodes] = new JsonNodeExtension(new JsonArray([.. codes.Select(c => (JsonNode)JsonValue.Create(c))])),
            },
        };
        if (status is 429 or 503)
            response.Headers = new Dictionary<string, IOpenApiHeader>
            {
                ["Retry-After"] = new OpenApiHeader
                {
                    Description = "Seconds to wait before retrying.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0" },
                },
            };
        return response;
    }

    // Handler names that read poorly as a client method (a verb alone, a noun alone): the client's name here,
    // kept apart from the feature files so that renaming a handler does not rename a client method unseen.
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["Health.CacheState"] = "getCacheState",
        ["Auth.Register"] = "registerBusiness",
        ["Stores.StoreTerminals"] = "listStoreTerminals",
        ["Products.Scan"] = "scanBarcode",
        ["Receipts.Refund"] = "refundReceipt",
        ["Receipts.Daily"] = "getDailyReport",
        ["Inventory.Receive"] = "receiveStock",
        ["Inventory.Adjust"] = "adjustStock",
        ["Inventory.Transfer"] = "transferStock",
        ["Inventory.StockLevels"] = "listStockLevels",
        ["Tenant.GetSettings"] = "getTenantSettings",
        ["Tenant.UpdateSettings"] = "updateTenantSettings",
    };

    // Handler names that say what they do only with their tag: List (customers), Get (employee)...
    private static readonly string[] GenericVerbs = ["List", "Get", "Create", "Update", "Delete"];

    /// <summary>
    /// A stable operationId from the handler's name, made unique with the tag where the name is generic
    /// ("List" under Customers: listCustomers; "Get": getCustomer; "ByPhone": getCustomerByPhone). An
    /// explicit <c>.WithName</c> wins (the framework sets it before this runs).
    /// </summary>
    private static string OperationId(string method, string path, IList<object> metadata)
    {
        var handler = metadata.OfType<MethodInfo>().FirstOrDefault();
        var tag = metadata.OfType<ITagsMetadata>().SelectMany(t => t.Tags).FirstOrDefault() ?? "";
        if (handler is null || handler.IsDefined(typeof(CompilerGeneratedAttribute)) || handler.Name.Contains('<'))
            return Camel(method.ToLowerInvariant() + string.Concat(path.Split('/', '{', '}', ':', '-').Where(s => s.Length > 0 && s != "api" && s != "v1" && s != "guid").Select(Pascal)));
        var name = handler.Name;
        if (Renamed.TryGetValue($"{tag}.{name}", out var renamed))
            return renamed;
        if (name == "List")
            return "list" + Pascal(tag);
        if (GenericVerbs.Contains(name))
            return Camel(name) + Singular(tag);
        if (name.StartsWith("By", StringComparison.Ordinal))
            return "get" + Singular(tag) + name;
        return Camel(name);
    }

    private static string Singular(string tag) =>
        tag.EndsWith("ies", StringComparison.Ordinal) ? tag[..^3] + "y" : tag.EndsWith('s') ? tag[..^1] : tag;

    private static string Pascal(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static string Camel(string s) => s.Length == 0 ? s : char.ToLowerInvariant(s[0]) + s[1..];

    /// <summary>
    /// Schema transformer: money and quantities are decimals, JSON numbers only (strings are refused,
    /// see <see cref="RequestRules.Configure"/>), documented as <c>format: decimal</c> so that generators
    /// do not emit a binary double.
    /// </summary>
    public static Task DescribeNumbers(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        // Enums are strings (JsonStringEnumConverter), which the exporter leaves out of the schema.
        if (type.IsEnum && schema.Enum is { Count: > 0 } && schema.Type is null)
            schema.Type = JsonSchemaType.String;
        if ((Nullable.GetUnderlyingType(type) ?? type) != typeof(decimal))
            return Task.CompletedTask;
        var nullable = (schema.Type ?? 0).HasFlag(JsonSchemaType.Null) || Nullable.GetUnderlyingType(type) is not null && schema.Type is null;
        schema.Type = nullable ? JsonSchemaType.Number | JsonSchemaType.Null : JsonSchemaType.Number;
        schema.Format = "decimal";
        schema.Pattern = null;
        return Task.CompletedTask;
    }

    /// <summary>Document transformer: the Problem schema, the document's description, and the readiness probe (not an API-explorer endpoint).</summary>
    public static Task DescribeDocument(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info ??= new OpenApiInfo();
        document.Info.Title = "JowiShop API";
        document.Info.Description =
            "Multi-tenant point-of-sale backend: tills scan barcodes and ring up receipts; back offices manage stores, staff, catalog, stock and customers. " +
            "The tenant always comes from the access token (POST /api/v1/auth/login). Every error is an RFC 9457 problem document (`Problem`) " +
            "with a stable `code`; each operation lists the statuses it answers and, in `x-problem-codes`, the codes each may carry.";
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ProblemSchema] = Problem();
        // Nothing refers to the framework's validation schema once every error answer is a Problem.
        document.Components.Schemas.Remove("HttpValidationProblemDetails");
        document.Components.Schemas.Remove("ProblemDetails");

        // Clients join paths to the server URL: "http://host/" + "/api/v1" would make "//api/v1".
        foreach (var server in document.Servers ?? [])
            server.Url = server.Url?.TrimEnd('/');
        document.Tags ??= new HashSet<OpenApiTag>();
        foreach (var tag in document.Tags)
            tag.Description ??= TagDescriptions.GetValueOrDefault(tag.Name ?? "");

        document.Paths ??= new OpenApiPaths();
        OneNamePerPathParameter(document.Paths);
        if (!document.Paths.ContainsKey("/api/v1/health/ready"))
            document.Paths["/api/v1/health/ready"] = Readiness(document);
        return Task.CompletedTask;
    }

    /// <summary>
    /// A route value names the same thing under the same prefix: the store of <c>/stores/{id}</c> is
    /// <c>{id}</c> in <c>/stores/{id}/reports/daily</c> too, though that route binds it as <c>storeId</c>.
    /// The name in a path template is not sent, so the URL is unchanged; generators see one parameter
    /// per resource instead of two (Kiota builds one request builder per path segment).
    /// </summary>
    private static void OneNamePerPathParameter(OpenApiPaths paths)
    {
        // The name a resource's own path gives it: "/api/v1/stores" -> "id" from "/api/v1/stores/{id}".
        var canonical = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in paths.Keys)
        {
            var cut = path.LastIndexOf('/');
            if (path[(cut + 1)..] is ['{', .. var name, '}'])
                canonical.TryAdd(path[..cut], name);
        }
        foreach (var path in paths.Keys.ToList())
        {
            var segments = path.Split('/');
            var renames = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 1; i < segments.Length; i++)
                if (segments[i] is ['{', .. var name, '}'] && canonical.TryGetValue(string.Join('/', segments[..i]), out var wanted) && wanted != name
                    && !segments.Contains("{" + wanted + "}"))
                {
                    renames[name] = wanted;
                    segments[i] = "{" + wanted + "}";
                }
            if (renames.Count == 0)
                continue;
            var item = paths[path];
            foreach (var operation in item.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
                foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
                    if (parameter.In == ParameterLocation.Path && renames.TryGetValue(parameter.Name ?? "", out var renamed))
                        parameter.Name = renamed;
            paths.Remove(path);
            paths[string.Join('/', segments)] = item;
        }
    }

    private static readonly Dictionary<string, string> TagDescriptions = new()
    {
        ["Health"] = "Liveness, readiness and (operators) the barcode cache.",
        ["Auth"] = "Register a business, log in, refresh, log out, change the password. Access tokens live 15 minutes; refresh tokens work once.",
        ["Tenant"] = "The business's settings: currency, time zone, negative stock, discount limits per role.",
        ["Stores"] = "The business's shops.",
        ["Terminals"] = "Tills, each at one store.",
        ["Products"] = "The catalog: products with their variants (SKU, barcodes, price, unit), and the till's barcode scan.",
        ["Categories"] = "A tree of product categories.",
        ["Receipts"] = "Sales and refunds, with the id as the idempotency key; lookups by number and the daily report.",
        ["Inventory"] = "Stock in (receivings), corrections and write-offs (adjustments), transfers between stores, stock levels.",
        ["Customers"] = "Customers and the till's lookups by phone, email or loyalty card.",
        ["Employees"] = "Staff logins, their roles and stores, and the transfer of ownership.",
        ["Search"] = "One query across products, customers and stores.",
        ["Audit"] = "The audit trail of security-relevant and money-relevant actions.",
    };

    private static OpenApiSchema Text(string description, string? format = null) =>
        new() { Type = JsonSchemaType.String, Format = format, Description = description };

    /// <summary>The Problem schema (the tests validate real answers against this same object).</summary>
    public static OpenApiSchema Problem() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "An RFC 9457 problem document. `code` is stable and machine-readable; `detail` says what to do.",
        Required = new HashSet<string> { "title", "status", "code", "traceId" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = Text("A URI naming the kind of problem (the status's RFC section)."),
            ["title"] = Text("A short summary of the kind of problem."),
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "400", Maximum = "599", Description = "The HTTP status." },
            ["detail"] = Text("What went wrong in this request, and what to do about it."),
            ["instance"] = Text("The request this problem is about."),
            ["code"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String, Pattern = "^[a-z_]+\\.[a-z_]+$",
                Description = "Stable machine-readable code, e.g. `stock.insufficient`; the operation's `x-problem-codes` list those it may carry.",
            },
            ["traceId"] = Text("The request's trace id, as in the server's logs."),
            ["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "Field errors (400): the JSON path of each refused field (`items[0].quantity`, `body` for the body as a whole) and what it must be.",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
            },
            ["conflictingId"] = Text("409: the resource that already holds the value (e.g. a customer's phone or card).", "uuid"),
            ["conflictingVariantId"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null, Format = "uuid", Description = "409: the variant that holds the SKU or barcode." },
            ["conflictingValue"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null, Description = "409: the SKU or barcode that is taken." },
            ["variantId"] = Text("409 `stock.insufficient`: the variant short of stock.", "uuid"),
            ["line"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Description = "403 `receipt.discount_forbidden`: the receipt line (from 0)." },
            ["maxDiscountPercent"] = new OpenApiSchema { Type = JsonSchemaType.Number, Format = "decimal", Description = "403 `receipt.discount_forbidden`: the caller's limit." },
        },
    };

    private static OpenApiPathItem Readiness(OpenApiDocument document)
    {
        var status = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Enum = [JsonValue.Create("ok"), JsonValue.Create("degraded"), JsonValue.Create("down")],
        };
        var body = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Required = new HashSet<string> { "status" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["status"] = status,
                ["checks"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Description = "Operators only (Operations:OperatorTenants): each check (postgres, redis, silo) with its status.",
                    AdditionalProperties = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Properties = new Dictionary<string, IOpenApiSchema> { ["status"] = status, ["description"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null } },
                    },
                },
            },
        };
        OpenApiResponse Answer(string description) => new()
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = body } },
        };
        var operation = new OpenApiOperation
        {
            OperationId = "getReadiness",
            Summary = "Readiness: PostgreSQL, Redis and the silo.",
            Description = "`ok` or `degraded` (only Redis down) is 200; PostgreSQL or the silo down is 503 `down`. A valid operator token also gets each check.",
            Tags = new HashSet<OpenApiTagReference> { new("Health", document) },
            Security = [],
            Responses = new OpenApiResponses
            {
                ["200"] = Answer("Ready (`ok`), or `degraded` when only Redis is down."),
                ["503"] = Answer("Not ready (`down`): PostgreSQL or the silo is unavailable."),
            },
        };
        return new OpenApiPathItem { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Get] = operation } };
    }
}
