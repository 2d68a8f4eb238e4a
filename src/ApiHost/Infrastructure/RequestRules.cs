using System.Buffers;
using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// The one strict input layer every endpoint inherits (docs/input.md). JSON bodies refuse unknown
/// members, duplicate keys and text breaking <see cref="TextRule"/>; route and query strings obey
/// the same text rule; query times reach SQL in UTC; arrays in bodies hold no null elements. A
/// refusal is a 400 problem whose <c>errors</c> are keyed by the JSON path of the field (camelCase),
/// never a 5xx, and names no CLR type.
/// </summary>
public static partial class RequestRules
{
    public const string TextRule =
        "must not contain control characters (tab, line feed and CR LF line ends are allowed) or unpaired surrogates";

    public const string UnknownField = "is not a known field";

    public const string Duplicate = "appears more than once";

    /// <summary>Applies the body rules to JSON options: the HTTP options (Program.cs) and PatchBody's reads.</summary>
    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.AllowDuplicateProperties = false;
        // Numbers are JSON numbers: the web defaults also read "12" as 12, which the document cannot describe
        // without making money a string (and generators a double or a union).
        options.NumberHandling = JsonNumberHandling.Strict;
        options.Converters.Add(new StrictStringConverter());
        // The built-in JsonObject reader throws ArgumentException on a duplicate key (a 500), whatever the options say.
        options.Converters.Add(new StrictJsonObjectConverter());
        return options;
    }

    // C0 and C1 controls, DEL and the surrogate range: text without any of these is accepted at a glance.
    private static readonly SearchValues<char> Suspects = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7F, 0x21)).Concat(Enumerable.Range(0xD800, 0x800)).Select(c => (char)c)]);

    /// <summary>
    /// Tab and line feed are text; a carriage return only as part of CR LF, the line end Windows tills
    /// send in multi-line notes. A bare CR is refused: on terminals, logs and receipt printers it returns
    /// to the start of the line, so what follows overprints what came before. NUL is refused by
    /// PostgreSQL itself, the other controls have no place in names, notes or codes, and an unpaired
    /// surrogate cannot be encoded in UTF-8 at all.
    /// </summary>
    public static bool IsCleanText(ReadOnlySpan<char> text)
    {
        var first = text.IndexOfAny(Suspects);
        if (first < 0)
            return true;
        for (var i = first; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '\t' or '\n' || c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                continue;
            if (c < ' ' || c is >= '\x7F' and <= '\x9F' || char.IsLowSurrogate(c))
                return false;
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                    return false;
                i++;
            }
        }
        return true;
    }

    /// <summary>What a field must be, in words, for a field error (never a CLR type name).</summary>
    public static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(string) ? "a string"
            : type == typeof(decimal) || type == typeof(double) || type == typeof(float) ? "a number"
            : type == typeof(int) ? $"a whole number up to {int.MaxValue}"
            : type == typeof(long) || type == typeof(short) ? "a whole number"
            : type == typeof(bool) ? "true or false"
            : type == typeof(Guid) ? "a UUID"
            : type == typeof(DateTimeOffset) || type == typeof(DateTime) ? "a date and time (ISO 8601, e.g. 2026-01-31T09:30:00Z)"
            : type == typeof(DateOnly) ? "a date (yyyy-MM-dd)"
            : type.IsEnum ? "one of " + string.Join(", ", Enum.GetNames(type).Select(n => JsonNamingPolicy.CamelCase.ConvertName(n)))
            : typeof(JsonNode).IsAssignableFrom(type) ? "a JSON object"
            : typeof(IEnumerable).IsAssignableFrom(type) ? "an array"
            : "an object";
    }

    /// <summary>
    /// OpenAPI: the schema of strings and JSON objects as the built-in converters describe them. The
    /// schema exporter cannot see into the strict converters and would leave these schemas empty.
    /// </summary>
    public static Task DescribeStrictTypes(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (schema.Type is null && context.JsonTypeInfo.Type == typeof(string))
            schema.Type = context.JsonPropertyInfo is { IsGetNullable: true } or { IsSetNullable: true }
                ? JsonSchemaType.String | JsonSchemaType.Null
                : JsonSchemaType.String;
        else if (schema.Type is null && context.JsonTypeInfo.Type == typeof(JsonObject))
            schema.Type = JsonSchemaType.Object;
        else if (context.JsonTypeInfo is { Kind: JsonTypeInfoKind.Enumerable, ElementType: var element } && element == typeof(string)
                 && schema.Items is null or OpenApiSchema { Type: null, Properties: null, Items: null })
            schema.Items = new OpenApiSchema { Type = JsonSchemaType.String };
        return Task.CompletedTask;
    }

    // ---- JSON bodies -------------------------------------------------------------------------

    private static string ReadText(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName))
            throw new JsonException(); // the wrong type: described from the endpoint's request type
        string text;
        try
        {
            text = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // GetString refuses what is not valid UTF-16 once unescaped: "\ud800" without its pair, or bad UTF-8.
            throw new RequestRuleException(null, TextRule);
        }
        return IsCleanText(text) ? text : throw new RequestRuleException(null, TextRule);
    }

    private sealed class StrictStringConverter : JsonConverter<string>
    {
        public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => ReadText(ref reader);

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => ReadText(ref reader);

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(value);
    }

    /// <summary>PATCH bodies: a JsonObject read with the text rule on every key and string, and no key twice in an object.</summary>
    private sealed class StrictJsonObjectConverter : JsonConverter<JsonObject>
    {
        public override JsonObject Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.StartObject
                ? ReadObject(ref reader, "", new JsonNodeOptions { PropertyNameCaseInsensitive = false })
                : throw new RequestRuleException(BodyField, "must be a JSON object");

        public override void Write(Utf8JsonWriter writer, JsonObject value, JsonSerializerOptions options) => value.WriteTo(writer, options);

        private static JsonObject ReadObject(ref Utf8JsonReader reader, string path, JsonNodeOptions nodeOptions)
        {
            var result = new JsonObject(nodeOptions);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = Checked(ref reader, path.Length == 0 ? BodyField : path);
                var field = path.Length == 0 ? name : $"{path}.{name}";
                if (result.ContainsKey(name))
                    throw new RequestRuleException(field, Duplicate);
                reader.Read();
                result[name] = ReadNode(ref reader, field, nodeOptions);
            }
            return result;
        }

        private static JsonNode? ReadNode(ref Utf8JsonReader reader, string field, JsonNodeOptions nodeOptions)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    return ReadObject(ref reader, field, nodeOptions);
                case JsonTokenType.StartArray:
                    var array = new JsonArray(nodeOptions);
                    for (var i = 0; reader.Read() && reader.TokenType != JsonTokenType.EndArray; i++)
                        array.Add(ReadNode(ref reader, $"{field}[{i}]", nodeOptions));
                    return array;
                case JsonTokenType.Null:
                    return null;
                case JsonTokenType.String:
                    Checked(ref reader, field);
                    return JsonValue.Create(JsonElement.ParseValue(ref reader), nodeOptions);
                default:
                    return JsonValue.Create(JsonElement.ParseValue(ref reader), nodeOptions);
            }
        }

        private static string Checked(ref Utf8JsonReader reader, string field)
        {
            try
            {
                return ReadText(ref reader);
            }
            catch (RequestRuleException e)
            {
                throw new RequestRuleException(field, e.Message);
            }
        }
    }

    /// <summary>The key for errors about the body as a whole.</summary>
    public const string BodyField = "body";

    /// <summary>"$.items[0].qty" as the field "items[0].qty"; the root is <see cref="BodyField"/>.</summary>
    public static string FieldOf(string? jsonPath)
    {
        var field = (jsonPath ?? "$").TrimStart('$').TrimStart('.');
        return field.Length == 0 ? BodyField : field;
    }

    /// <summary>The problem for a request the framework could not bind: which field, and what it must be.</summary>
    public static (int Status, string Code, string Detail, Dictionary<string, string[]>? Errors) Describe(BadHttpRequestException bad, HttpContext http)
    {
        // The exception handler clears the request's endpoint before it runs; the feature keeps it.
        var endpoint = http.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Endpoint ?? http.GetEndpoint();
        string field, message;
        if (bad.InnerException is JsonException json)
            (field, message) = DescribeJson(json, endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType);
        else if (bad.StatusCode == StatusCodes.Status415UnsupportedMediaType)
            return (bad.StatusCode, "request.unsupported_media_type", "The body must be JSON: send Content-Type: application/json.", null);
        else if (bad.StatusCode == StatusCodes.Status413PayloadTooLarge)
            return (bad.StatusCode, "request.too_large", "The request body is too large.", null);
        else if (BindFailed().Match(bad.Message) is { Success: true } failed)
        {
            field = failed.Groups["name"].Value;
            var parameter = endpoint?.Metadata.GetMetadata<MethodInfo>()?.GetParameters().FirstOrDefault(p => p.Name == field);
            message = parameter is null ? "has an invalid value" : "must be " + Describe(parameter.ParameterType);
        }
        else if (NotProvided().Match(bad.Message) is { Success: true } missing)
            (field, message) = missing.Groups["body"].Success ? (BodyField, "is required: a JSON object") : (missing.Groups["name"].Value, "is required");
        else
            // Nothing names the field: the framework's own words are never passed on (they name CLR types and services).
            return bad.StatusCode == StatusCodes.Status400BadRequest
                ? (bad.StatusCode, "request.malformed", "The request could not be read: send a JSON object as the body and values of the documented types.",
                    new() { [BodyField] = ["could not be read"] })
                : (bad.StatusCode, ApiProblems.DefaultCode(bad.StatusCode), "The request could not be read.", null);
        return (StatusCodes.Status400BadRequest, "request.malformed", $"{field}: {message}", new() { [field] = [message] });
    }

    private static (string Field, string Message) DescribeJson(JsonException json, Type? requestType)
    {
        if (json is RequestRuleException rule)
            return (rule.Field ?? FieldOf(json.Path), rule.Message);
        var field = FieldOf(json.Path);
        // A syntax error (the reader's own exception inside): the path is where reading stopped.
        if (json.InnerException is JsonException)
            return (field, "is not valid JSON here");
        var (known, type) = requestType is null ? (true, null) : Resolve(requestType, field);
        if (!known)
            return (field, UnknownField);
        // The serializer's duplicate-key refusal is told apart from a wrong value by its message alone.
        if (json.Message.StartsWith("Duplicate property", StringComparison.Ordinal))
            return (field, Duplicate);
        return (field, type is null ? "has the wrong type or an invalid value" : "must be " + Describe(type));
    }

    /// <summary>Follows a field path through the request type: whether its last member exists, and its type.</summary>
    private static (bool Known, Type? Type) Resolve(Type root, string field)
    {
        if (field == BodyField)
            return (true, root);
        Type? type = root;
        foreach (Match segment in PathSegment().Matches(field))
        {
            type = Nullable.GetUnderlyingType(type!) ?? type!;
            if (segment.Groups["index"].Success)
            {
                type = type.IsArray ? type.GetElementType()
                    : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
                        ?.GetGenericArguments()[0];
            }
            else
            {
                if (typeof(JsonNode).IsAssignableFrom(type))
                    return (true, null);
                var name = segment.Groups["name"].Value;
                var property = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                    .FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
                if (property is null)
                    return (false, null);
                type = property.PropertyType;
            }
            if (type is null)
                return (true, null);
        }
        return (true, type);
    }

    [GeneratedRegex(@"(?<name>[^.\[\]]+)|\[(?<index>\d+)\]")]
    private static partial Regex PathSegment();

    // RequestDelegateFactory's words for a route or query value it could not parse: 'Failed to bind parameter "int? page" from "abc".'
    // (The type is left out of these messages unless the framework logs details.)
    [GeneratedRegex("^Failed to bind parameter \"(?:[^\"]* )?(?<name>[^\" ]+)\" from ")]
    private static partial Regex BindFailed();

    // 'Required parameter "T x" was not provided from query string.' and 'Implicit body inferred for parameter "x" but no body was provided.'
    [GeneratedRegex("^(?:Required parameter \"(?:[^\"]* )?(?<name>[^\" ]+)\" was not provided from (?:(?<body>body)|.+)|Implicit body inferred for parameter \"(?:[^\"]* )?(?<name>[^\" ]+)\" but (?<body>no body))")]
    private static partial Regex NotProvided();

    // ---- Route and query values, and bodies once bound ---------------------------------------

    /// <summary>
    /// Adds the rules for bound values to every endpoint of the group that has such parameters:
    /// route and query strings obey the text rule (400 naming the parameter), DateTimeOffset values
    /// are converted to UTC (Npgsql refuses any other offset for timestamptz), and a body's arrays
    /// hold no null elements. Endpoints with none of these get no filter.
    /// </summary>
    public static RouteGroupBuilder AddRequestRules(this RouteGroupBuilder group)
    {
        group.AddEndpointFilterFactory(Filter);
        return group;
    }

    private static EndpointFilterDelegate Filter(EndpointFilterFactoryContext context, EndpointFilterDelegate next)
    {
        var parameters = context.MethodInfo.GetParameters();
        var services = context.ApplicationServices.GetService<IServiceProviderIsService>();
        var texts = new List<(int Index, string Name)>();
        var times = new List<int>();
        var bodies = new List<(int Index, BodyShape Shape)>();
        for (var i = 0; i < parameters.Length; i++)
        {
            var type = parameters[i].ParameterType;
            // A body is one of the application's request types; its services are not.
            if (type.IsClass && type.Namespace?.StartsWith("JowiShop.", StringComparison.Ordinal) == true && services?.IsService(type) != true)
            {
                if (BodyShape.Of(type) is { } shape)
                    bodies.Add((i, shape));
            }
            else if (type == typeof(string))
                texts.Add((i, parameters[i].Name!));
            else if ((Nullable.GetUnderlyingType(type) ?? type) == typeof(DateTimeOffset))
                times.Add(i);
        }
        if (texts.Count == 0 && times.Count == 0 && bodies.Count == 0)
            return next;

        return invocation =>
        {
            FieldErrors? errors = null;
            foreach (var (index, name) in texts)
                if (invocation.Arguments[index] is string text && !IsCleanText(text))
                    (errors ??= new FieldErrors()).Add(name, TextRule);
            foreach (var (index, shape) in bodies)
                if (invocation.Arguments[index] is { } body)
                    shape.Check(body, "", ref errors);
            if (errors is { Any: true })
                return ValueTask.FromResult<object?>(ApiProblems.Validation(errors));
            foreach (var index in times)
                if (invocation.Arguments[index] is DateTimeOffset time && time.Offset != TimeSpan.Zero)
                    invocation.Arguments[index] = time.ToUniversalTime();
            return next(invocation);
        };
    }

    /// <summary>Where a body type holds lists, so that null elements can be found without walking anything else.</summary>
    private sealed class BodyShape
    {
        private readonly List<(string Name, PropertyInfo Property, BodyShape? Element, BodyShape? Nested)> _members = [];

        public static BodyShape? Of(Type type) => Of(type, 0);

        private static BodyShape? Of(Type type, int depth)
        {
            if (depth > 8 || type == typeof(string) || type.IsValueType || typeof(JsonNode).IsAssignableFrom(type))
                return null;
            var shape = new BodyShape();
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var propertyType = property.PropertyType;
                var name = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
                if (propertyType != typeof(string) && ElementType(propertyType) is { } element)
                {
                    if (!element.IsValueType || Nullable.GetUnderlyingType(element) is not null)
                        shape._members.Add((name, property, Of(element, depth + 1), null));
                }
                else if (Of(propertyType, depth + 1) is { } nested)
                    shape._members.Add((name, property, null, nested));
            }
            return shape._members.Count == 0 ? null : shape;
        }

        private static Type? ElementType(Type type) =>
            type.IsArray ? type.GetElementType()
            : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
                ?.GetGenericArguments()[0];

        private static string Field(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

        /// <summary>Adds an error for every null list element; <paramref name="errors"/> is made only when there is one (a clean body allocates nothing).</summary>
        public void Check(object value, string path, ref FieldErrors? errors)
        {
            foreach (var (name, property, element, nested) in _members)
            {
                switch (property.GetValue(value))
                {
                    case null:
                        break;
                    case IEnumerable list when nested is null:
                        var i = 0;
                        foreach (var item in list)
                        {
                            if (item is null)
                                (errors ??= new FieldErrors()).Add($"{Field(path, name)}[{i}]", "is required");
                            else
                                element?.Check(item, $"{Field(path, name)}[{i}]", ref errors);
                            i++;
                        }
                        break;
                    case { } child:
                        nested?.Check(child, Field(path, name), ref errors);
                        break;
                }
            }
        }
    }
}

/// <summary>A JSON value refused by a request rule; <see cref="Field"/> is its path when the reader knows it better than the serializer.</summary>
public sealed class RequestRuleException(string? field, string message) : JsonException(message)
{
    public string? Field { get; } = field;
}
