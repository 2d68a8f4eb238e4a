using System.Text.Json;
using System.Text.Json.Nodes;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// Reads a JSON merge-patch style body: a field absent leaves the value unchanged, a field set
/// to null clears it (where the field may be null), anything else replaces it. Type errors
/// become field errors rather than exceptions. The endpoint names the fields it knows: any other
/// is a field error. Duplicate keys and text breaking <see cref="RequestRules.TextRule"/> are refused
/// when the body is read (<see cref="RequestRules"/>), and strings read here obey the same rule.
/// </summary>
public sealed class PatchBody
{
    private readonly JsonObject body;
    private readonly FieldErrors errors;

    /// <param name="fields">The fields the endpoint reads; a body naming any other is refused.</param>
    public PatchBody(JsonObject body, FieldErrors errors, string field, params string[] fields)
    {
        (this.body, this.errors) = (body, errors);
        foreach (var (name, _) in body)
            if (name != field && !fields.Contains(name, StringComparer.Ordinal))
                errors.Add(name, RequestRules.UnknownField);
    }

    public FieldErrors Errors => errors;

    public bool Has(string field) => body.ContainsKey(field);

    /// <summary>True when the field is present with an explicit null.</summary>
    public bool IsNull(string field) => body.TryGetPropertyValue(field, out var node) && node is null;

    /// <summary>The field's value when present and non-null and of the right type; default otherwise (with a field error on a bad type).</summary>
    public T? Get<T>(string field)
    {
        if (!body.TryGetPropertyValue(field, out var node) || node is null)
            return default;
        try
        {
            return node.Deserialize<T>(JsonOptions);
        }
        catch (RequestRuleException e)
        {
            // An element of an array ("$[1]") is named under the field: "barcodes[1]".
            errors.Add(e.Field ?? field + (e.Path ?? "$").TrimStart('$'), e.Message);
            return default;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NotSupportedException)
        {
            errors.Add(field, $"has the wrong type: expected {RequestRules.Describe(typeof(T))}");
            return default;
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = RequestRules.Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
    });
}

/// <summary>Money and quantity rules shared by the catalog and receipts.</summary>
public static class Amounts
{
    public const decimal MaxMoney = JowiShop.Grains.Sales.SalePricing.MaxMoney;

    /// <summary>Non-negative, at most 2 decimals, within numeric(14,2).</summary>
    public static bool IsMoney(decimal value) => value >= 0 && value <= MaxMoney && decimal.Round(value, 2) == value;

    public const string MoneyRule = "must be a non-negative amount with at most 2 decimals";
}
