using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>The body a PATCH endpoint reads (a merge patch of the create request's fields), and which fields null clears.</summary>
public sealed record MergePatchOf(Type Request, IReadOnlyList<string> Except, IReadOnlyList<string> Clearable);

/// <summary>
/// Request bodies as the contract describes them. The request records are all-nullable so that a
/// missing field reaches validation (a 400 naming it) instead of the binder, and the schema exporter
/// would make every field both required and nullable: a typed client would have to send explicit
/// nulls. Here the fields the handlers' validation requires are <c>required</c>, the others optional,
/// and none is nullable (null means the same as absent). PATCH bodies (read as JSON objects, see
/// <see cref="PatchBody"/>) get a typed merge-patch schema: every field optional, and null only on
/// the fields where it clears the value.
/// </summary>
public static partial class RequestShapes
{
    /// <summary>What each request's validation refuses when absent (keep in step with the handlers' validation).</summary>
    public static readonly Dictionary<string, string[]> Required = new(StringComparer.Ordinal)
    {
        ["RegisterRequest"] = ["businessName", "ownerName", "email", "phone", "password"],
        ["LoginRequest"] = ["login", "password"],
        ["RefreshRequest"] = ["refreshToken"],
        ["PasswordChangeRequest"] = ["currentPassword", "newPassword"],
        ["OwnershipTransferRequest"] = ["currentPassword"],
        ["TenantSettingsRequest"] = ["currency", "timeZone", "negativeStock"],
        ["DiscountLimitsRequest"] = [],
        ["StoreRequest"] = ["name"],
        ["TerminalRequest"] = ["storeId", "name"],
        ["CategoryRequest"] = ["name"],
        ["ProductRequest"] = ["name", "variants"],
        ["VariantRequest"] = ["name", "sku", "price"],
        ["CustomerRequest"] = ["name"],
        ["EmployeeRequest"] = ["name", "password", "role"],
        ["ReceiptRequest"] = ["storeId", "terminalId", "items", "payments"],
        ["ReceiptItemRequest"] = ["variantId", "quantity"],
        ["PaymentRequest"] = ["method", "amount"],
        ["RefundRequest"] = ["items"],
        ["RefundItemRequest"] = ["variantId", "quantity"],
        ["ReceivingRequest"] = ["storeId", "lines"],
        ["ReceivingLineRequest"] = ["variantId", "quantity", "unitCost"],
        ["AdjustmentRequest"] = ["storeId", "lines"],
        ["AdjustmentLineRequest"] = ["variantId"],
        ["TransferRequest"] = ["fromStoreId", "toStoreId", "lines"],
        ["TransferLineRequest"] = ["variantId", "quantity"],
    };

    /// <summary>Declares the PATCH body: the fields of <typeparamref name="TRequest"/> but <paramref name="except"/>; null clears <paramref name="clearable"/>.</summary>
    public static RouteHandlerBuilder AcceptsMergePatch<TRequest>(this RouteHandlerBuilder builder, string[] clearable, params string[] except) =>
        builder.WithMetadata(new MergePatchOf(typeof(TRequest), except, clearable));

    /// <summary>Document transformer (after the schemas exist): required and non-null request fields, and the merge-patch bodies.</summary>
    public static Task Describe(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var schemas = document.Components?.Schemas;
        if (schemas is null)
            return Task.CompletedTask;
        foreach (var (name, required) in Required)
            if (schemas.TryGetValue(name, out var found) && found is OpenApiSchema schema)
            {
                schema.Required = new HashSet<string>(required, StringComparer.Ordinal);
                foreach (var property in (schema.Properties ?? new Dictionary<string, IOpenApiSchema>()).ToList())
                    schema.Properties![property.Key] = NonNull(property.Value);
            }

        var patches = context.DescriptionGroups.SelectMany(g => g.Items).Where(d => d.HttpMethod == "PATCH").ToList();
        var typed = 0;
        foreach (var description in patches)
        {
            // The description's path keeps the route constraints ("{id:guid}"); the document's does not.
            var path = "/" + RouteConstraint().Replace(description.RelativePath ?? "", "{$1}").TrimEnd('/');
            if (description.ActionDescriptor.EndpointMetadata.OfType<MergePatchOf>().FirstOrDefault() is not { } patch
                || document.Paths?.GetValueOrDefault(path) is not { } item
                || item.Operations?.GetValueOrDefault(HttpMethod.Patch)?.RequestBody?.Content is not { } content
                || !schemas.TryGetValue(patch.Request.Name, out var createSchema) || createSchema is not OpenApiSchema create)
                continue;
            typed++;
            var patchName = patch.Request.Name.Replace("Request", "Patch", StringComparison.Ordinal);
            schemas[patchName] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "A merge patch: a field left out is unchanged" + (patch.Clearable.Count > 0
                    ? "; null clears " + string.Join(", ", patch.Clearable.Select(c => $"`{c}`")) + "." : "."),
                AdditionalPropertiesAllowed = false,
                Properties = (create.Properties ?? new Dictionary<string, IOpenApiSchema>())
                    .Where(p => !patch.Except.Contains(p.Key))
                    .ToDictionary(p => p.Key, p => patch.Clearable.Contains(p.Key) ? Nullable(p.Value) : p.Value),
            };
            foreach (var media in content.Values)
                media.Schema = new OpenApiSchemaReference(patchName, document);
        }
        // The untyped PATCH body schema is left unused once every PATCH is typed.
        if (typed == patches.Count)
            schemas.Remove("JsonObject");
        return Task.CompletedTask;
    }

    private static IOpenApiSchema NonNull(IOpenApiSchema property)
    {
        if (property is not OpenApiSchema schema)
            return property;
        // A nullable reference is written as oneOf [null, $ref]: the reference alone.
        if (schema.OneOf is { Count: 2 } oneOf && oneOf.FirstOrDefault(s => s is OpenApiSchema { Type: JsonSchemaType.Null }) is { } nullType)
            return oneOf.First(s => !ReferenceEquals(s, nullType));
        if (schema.Type is { } type && type.HasFlag(JsonSchemaType.Null) && type != JsonSchemaType.Null)
            schema.Type = type & ~JsonSchemaType.Null;
        return schema;
    }

    private static IOpenApiSchema Nullable(IOpenApiSchema property) => property switch
    {
        OpenApiSchema { Type: { } type } schema => new OpenApiSchema
        {
            Type = type | JsonSchemaType.Null, Format = schema.Format, Items = schema.Items, MaxLength = schema.MaxLength,
            Minimum = schema.Minimum, Maximum = schema.Maximum, Description = schema.Description,
        },
        _ => new OpenApiSchema { OneOf = [new OpenApiSchema { Type = JsonSchemaType.Null }, property] },
    };

    [System.Text.RegularExpressions.GeneratedRegex(@"\{([^:}]+)(:[^}]+)?\}")]
    private static partial System.Text.RegularExpressions.Regex RouteConstraint();
}
