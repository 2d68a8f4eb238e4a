using System.Text.Json;
using System.Text.Json.Nodes;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// Reads a JSON merge-patch style body: a field absent leaves the value unchanged, a field set
/// to null clears it (where the field may be null), anything else replaces it. Type errors
/// become field errors rather than exceptions.
/// </summary>
public sealed class PatchBody(JsonObject body, FieldErrors errors)
{
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
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NotSupportedException)
        {
            errors.Add(field, $"has the wrong type: expected {Describe(typeof(T))}");
            return default;
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
    };

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(string) ? "a string"
            : type == typeof(decimal) ? "a number"
            : type == typeof(bool) ? "true or false"
            : type == typeof(Guid) ? "a UUID"
            : type.IsEnum ? "one of " + string.Join(", ", Enum.GetNames(type).Select(n => JsonNamingPolicy.CamelCase.ConvertName(n)))
            : type.IsAssignableTo(typeof(System.Collections.IEnumerable)) ? "an array"
            : type.Name;
    }
}

/// <summary>Money and quantity rules shared by the catalog and receipts.</summary>
public static class Amounts
{
    public const decimal MaxMoney = 999_999_999_999.99m;

    /// <summary>Non-negative, at most 2 decimals, within numeric(14,2).</summary>
    public static bool IsMoney(decimal value) => value >= 0 && value <= MaxMoney && decimal.Round(value, 2) == value;

    public const string MoneyRule = "must be a non-negative amount with at most 2 decimals";
}
