using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace JowiShop.Tests.Api;

/// <summary>
/// Walks every operation of the running API's OpenAPI document with generated hostile input, sent
/// as the owner of a fresh tenant: wrong JSON types, boundary and huge numbers, empty and very long
/// strings, NUL, unpaired surrogates, other controls, RTL marks, emoji, invalid UTF-8, missing, extra
/// and repeated fields, malformed bodies and media types, path ids that are random or another
/// tenant's. The properties: no 5xx ever; a refused (4xx) request writes no row (a fingerprint of
/// the tenant's tables before and after); and input the strict layer must refuse (an unknown field,
/// a repeated key, refused text in any declared input, a malformed body) is never a 2xx.
/// <para>
/// CsCheck rather than FsCheck: it is a C# library whose generators compose with LINQ and shrink
/// automatically from a seed, with no Arbitrary registrations or F# types to bridge into xunit. A
/// failure prints the seed; set <c>CsCheck_Seed</c> (and <c>CsCheck_Iter</c>) to replay it.
/// </para>
/// </summary>
public sealed class HostileInputPropertyTests(ApiFixture api, ITestOutputHelper output) : IClassFixture<ApiFixture>
{
    // A fixed number of cases per operation keeps the walk bounded (about 60 operations).
    private const int CasesPerOperation = 40;

    // Operations left out of the walk, each with why (none today: the zero-priced refund that once
    // answered 503 forever is fixed, and refunds are walked like the rest).
    private static readonly Dictionary<string, string> Excluded = new(StringComparer.Ordinal);

    [Fact]
    public async Task Every_operation_answers_hostile_input_without_5xx_and_refusals_write_nothing()
    {
        var world = await World.CreateAsync(api.Factory);
        var document = JsonDocument.Parse(await world.Owner.GetStringAsync("/openapi/v1.json")).RootElement;
        // Deletes last: they take away the rows the other operations' ids reach.
        var operations = Operation.All(document).OrderBy(o => o.Method == "DELETE").ToList();
        Assert.True(operations.Count >= 50, $"only {operations.Count} operations in the OpenAPI document");
        var fingerprint = await Fingerprint.CreateAsync(api.Factory.PostgresConnectionString, world.TenantId);
        // The fingerprint sees a write (or the walk would prove nothing about refusals).
        var unwritten = await fingerprint.TakeAsync();
        (await world.Owner.PostAsJsonAsync("/api/v1/categories", new { name = "Fingerprint check" })).EnsureSuccessStatusCode();
        Assert.NotNull(Fingerprint.Difference(unwritten, await fingerprint.TakeAsync()));
        var iterations = long.TryParse(Environment.GetEnvironmentVariable("CsCheck_Iter"), out var fromEnvironment) ? fromEnvironment : CasesPerOperation;

        var failures = new List<string>();
        foreach (var operation in operations)
        {
            if (Excluded.TryGetValue(operation.Key, out var why))
            {
                output.WriteLine($"{operation.Key}: excluded, {why}");
                continue;
            }
            var statuses = new SortedDictionary<int, int>();
            try
            {
                await new Generators(document, world).Request(operation).SampleAsync(async request =>
                {
                    var before = await fingerprint.TakeAsync();
                    using var response = await world.SendAsync(request);
                    var status = (int)response.StatusCode;
                    statuses[status] = statuses.GetValueOrDefault(status) + 1;
                    var body = await response.Content.ReadAsStringAsync();
                    if (status >= 500)
                        throw new HostileInputException($"answered {status}: {Shorten(body, 400)}");
                    if (request.MustRefuse is { } refusal && status < 400)
                        throw new HostileInputException($"answered {status} to input that must be refused ({refusal}): {Shorten(body, 200)}");
                    if (status >= 400 && Fingerprint.Difference(before, await fingerprint.TakeAsync()) is { } written)
                        throw new HostileInputException($"answered {status} but wrote rows ({written}): {Shorten(body, 200)}");
                }, iter: iterations, threads: 1, print: r => r.ToString());
            }
            catch (Exception e) when (e is HostileInputException or CsCheckException)
            {
                // Every operation is walked; the failures are reported together below.
                failures.Add($"{operation.Key}: {e.Message}" + (e.InnerException is { } reason ? $"\n  {reason.Message}" : ""));
            }
            output.WriteLine($"{operation.Key}: " + string.Join(", ", statuses.Select(s => $"{s.Value}x{s.Key}")));
        }
        Assert.True(failures.Count == 0, $"{failures.Count} operations failed:\n\n" + string.Join("\n\n", failures));
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..length] + "...";

    private sealed class HostileInputException(string message) : Exception(message);

    /// <summary>A request as generated: the JSON text is kept for printing; the bytes are what is sent.</summary>
    public sealed record HostileRequest(string Method, string Url, string? Json, string? ContentType, string? MustRefuse)
    {
        public byte[]? Body => Json is null ? null : Fragment.Encode(Json);

        public override string ToString() =>
            $"{Method} {Url} [{ContentType ?? "no content type"}] {(Json is null ? "" : Shorten(Json, 1500))}" +
            (MustRefuse is null ? "" : $" (must be refused: {MustRefuse})");
    }

    /// <summary>A piece of JSON text, and why the layer must refuse it when it must.</summary>
    public readonly record struct Fragment(string Json, string? Refusal)
    {
        // A private-use character that stands for an invalid UTF-8 byte until the text is encoded.
        public const char InvalidByte = '\uE000';

        public static Fragment Of(string json) => new(json, null);

        public static string? First(IEnumerable<Fragment> fragments) => fragments.Select(f => f.Refusal).FirstOrDefault(r => r is not null);

        public static byte[] Encode(string json)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            var marker = Encoding.UTF8.GetBytes(InvalidByte.ToString());
            var result = new List<byte>(bytes.Length);
            for (var i = 0; i < bytes.Length; i++)
            {
                if (i + 2 < bytes.Length && bytes[i] == marker[0] && bytes[i + 1] == marker[1] && bytes[i + 2] == marker[2])
                {
                    result.Add(0xFF);
                    i += 2;
                }
                else
                    result.Add(bytes[i]);
            }
            return [.. result];
        }

        /// <summary>A JSON string literal: controls, surrogates (paired or not) as escapes; other non-ASCII raw or escaped.</summary>
        public static string Quote(string text, bool escapeAll)
        {
            var json = new StringBuilder(text.Length + 2).Append('"');
            foreach (var c in text)
            {
                if (c == '"' || c == '\\')
                    json.Append('\\').Append(c);
                else if (c == InvalidByte)
                    json.Append(c);
                else if (c < ' ' || c is >= '\x7F' and <= '\x9F' || char.IsSurrogate(c) || escapeAll && c > '~')
                    json.Append($"\\u{(int)c:x4}");
                else
                    json.Append(c);
            }
            return json.Append('"').ToString();
        }
    }

    /// <summary>
    /// The rule the layer must enforce, written here independently of RequestRules: tab, line feed
    /// and CR LF are text; other C0 and C1 controls, DEL, a bare CR and unpaired surrogates are not.
    /// </summary>
    public static bool IsRefusedText(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\r' && (i + 1 == text.Length || text[i + 1] != '\n'))
                return true;
            if (c is < ' ' and not ('\t' or '\n' or '\r') || c is >= '\x7F' and <= '\x9F' || c == Fragment.InvalidByte)
                return true;
            if (char.IsHighSurrogate(c) && (i + 1 == text.Length || !char.IsLowSurrogate(text[++i])))
                return true;
            if (char.IsLowSurrogate(c))
                return true;
        }
        return false;
    }

    /// <summary>One operation of the OpenAPI document, with what its body is when it has one.</summary>
    public sealed record Operation(string Method, string Path, IReadOnlyList<(string Name, string In, JsonElement Schema)> Parameters, JsonElement? Body)
    {
        public string Key => $"{Method} {Path}";

        public static IEnumerable<Operation> All(JsonElement document)
        {
            var paths = document.GetProperty("paths");
            foreach (var path in paths.EnumerateObject())
                foreach (var method in path.Value.EnumerateObject().Where(m => m.Name != "parameters"))
                {
                    var parameters = method.Value.TryGetProperty("parameters", out var list)
                        ? list.EnumerateArray().Select(p => (p.GetProperty("name").GetString()!, p.GetProperty("in").GetString()!, p.GetProperty("schema"))).ToList()
                        : [];
                    JsonElement? body = method.Value.TryGetProperty("requestBody", out var requestBody)
                        ? requestBody.GetProperty("content").EnumerateObject().First().Value.GetProperty("schema")
                        : null;
                    // A PATCH body is a JsonObject: its fields are those of the collection's create request.
                    if (body is { } b && b.TryGetProperty("$ref", out var reference) && reference.GetString()!.EndsWith("/JsonObject", StringComparison.Ordinal)
                        && paths.TryGetProperty(path.Name[..path.Name.LastIndexOf('/')], out var collection)
                        && collection.TryGetProperty("post", out var create) && create.TryGetProperty("requestBody", out var createBody))
                        body = createBody.GetProperty("content").EnumerateObject().First().Value.GetProperty("schema");
                    yield return new Operation(method.Name.ToUpperInvariant(), path.Name, parameters, body);
                }
        }
    }

    /// <summary>The generators, from benign to hostile in each list so that CsCheck shrinks towards the plain case.</summary>
    private sealed class Generators(JsonElement document, World world)
    {
        private static readonly string[] SpecialTexts =
        [
            "", "a", " ", "Ab", "Сыр", "  padded  ", "Line\nbreak", "Tab\there", "Windows\r\nline", "\u200fمتجر\u200f", "\u202egnp.exe",
            "Snacks \ud83c\udf6a", "e\u0301", "\ufeffbom", "\uffff", "zero\u200bwidth", "'; DROP TABLE stores; --", "%_\\", "null", "<script>",
            "\0", "a\0b", "\ud800", "x\udc00", "\ud83d", "bare\rreturn", "\u001b[31m", "\u0085", "\u007f", "bad" + Fragment.InvalidByte,
        ];

        private static readonly string[] WrongKinds = ["{}", "[]", "\"x\"", "0", "true", "[null]", "{\"a\":1}", "\"\""];

        private static readonly string[] Integers =
            ["1", "0", "2", "-1", "100", "101", "500", "501", "21474838", "2147483647", "2147483648", "-2147483649", "9223372036854775808", "1.5", "1e400", "\"7\""];

        private static readonly string[] Numbers =
        [
            "1", "0", "0.5", "1000", "-1", "0.001", "0.0001", "-0", "1e-30", "1e30", "1e400", "10000", "10000.001", "999999999999.99",
            "999999999999.999", "1000000000000", "79228162514264337593543950335", "79228162514264337593543950336", "3.14159265358979323846264338327950288", "\"12\"", "\"NaN\"",
        ];

        private static readonly string[] DateTimes =
        [
            "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+05:00", "2026-06-30T23:59:59.9999999-12:00", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-05:00", "2026-01-01", "2026-02-30T00:00:00Z", "now", "",
        ];

        private static readonly string[] Dates = ["2026-01-01", "0001-01-01", "9999-12-31", "2026-13-01", "2026-01-01T00:00:00Z", "today", ""];

        private static readonly string[] ExtraFields = ["discountPercent", "qty", "tenantId", "isAdmin", "__proto__", "$type"];

        // Percent-encoded bytes that are not UTF-8 (a lone surrogate cannot be sent in a URL: it is not UTF-8 either).
        private static readonly string[] RawUrlTexts = ["%FF", "%ED%A0%80", "%C0%AF", "a%E2%82"];

        private Gen<string> Ids(string? kind) => Gen.Frequency(
            (kind is not null && world.OwnByKind.ContainsKey(kind) ? 6 : 0, Gen.OneOf(world.OwnByKind.GetValueOrDefault(kind ?? "") ?? ["-"])),
            (2, Gen.OneOf(world.OwnIds)), (2, Gen.OneOf(world.ForeignIds)), (2, Gen.Guid.Select(g => g.ToString())), (1, Gen.Const(Guid.Empty.ToString())));

        /// <summary>What a field or parameter names an id of: "storeId" and "fromStoreId" a store, the "{id}" of "/stores/{id}" a store.</summary>
        private static string? KindOf(string? name)
        {
            var lower = name?.ToLowerInvariant() ?? "";
            return new[] { "store", "terminal", "variant", "product", "customer", "receipt", "employee" }.FirstOrDefault(lower.Contains) is { } kind ? kind + "s"
                : lower.Contains("categor") || lower.Contains("parent") ? "categories"
                : null;
        }

        private static string? KindOfPathParameter(string path, string name) =>
            name != "id" ? KindOf(name) : KindOf(path[..path.IndexOf("{id}", StringComparison.Ordinal)].TrimEnd('/').Split('/')[^1]);

        // Plausible text, so that bodies often pass validation and reach the code behind it.
        private static Gen<string> Plausible => Gen.Char.AlphaNumeric.Array[1, 20].Select(a => new string(a));

        private Gen<string> Text => Gen.Frequency(
            (3, Plausible),
            (4, Gen.OneOf(SpecialTexts)),
            (2, Gen.OneOf(world.Texts)),
            (2, Gen.Char['\0', '\uffff'].Array[0, 30].Select(a => new string(a))),
            (1, Gen.Int[200, 20_000].Select(n => new string('x', n))),
            (1, Gen.Int[1, 300].Select(n => string.Concat(Enumerable.Repeat("\ud83d\ude00", n)))));

        private Gen<Fragment> QuotedText => Gen.Select(Text, Gen.Bool, (text, escapeAll) =>
            new Fragment(Fragment.Quote(text, escapeAll), IsRefusedText(text) ? "refused text" : null));

        public Gen<HostileRequest> Request(Operation operation)
        {
            var parameters = Sequence(operation.Parameters
                .Select(p => UrlValue(p.Schema, p.In == "path", KindOfPathParameter(operation.Path, p.Name)).Select(v => (p.Name, p.In, Value: v))).ToList());
            var body = operation.Body is { } schema ? Body(schema, Examples.For(operation.Key, world)) : Gen.Const(((Fragment?)null, (string?)null));
            return Gen.Select(parameters, body, (values, b) =>
            {
                var url = operation.Path;
                var query = new List<string>();
                foreach (var (name, location, value) in values)
                {
                    if (location == "path")
                        url = url.Replace("{" + name + "}", value?.Encoded ?? "x");
                    else if (value is { } v)
                        query.Add($"{name}={v.Encoded}");
                }
                if (query.Count > 0)
                    url += "?" + string.Join('&', query);
                var refusal = values.Select(v => v.Value?.Refusal).FirstOrDefault(r => r is not null) ?? b.Item1?.Refusal
                    ?? (b.Item1 is not null && b.Item2 != "application/json" ? "not JSON" : null);
                return new HostileRequest(operation.Method, url, b.Item1?.Json, b.Item1 is null ? null : b.Item2, refusal);
            });
        }

        private sealed record UrlText(string Encoded, string? Refusal);

        /// <summary>A route or query value (null: a query parameter left out).</summary>
        private Gen<UrlText?> UrlValue(JsonElement schema, bool inPath, string? kind)
        {
            var format = schema.TryGetProperty("format", out var f) ? f.GetString() : null;
            var types = Types(schema);
            Gen<string> plain =
                format == "uuid" ? Gen.Frequency((8, Ids(kind)), (1, Gen.OneOf("not-a-uuid", "")))
                : format == "date-time" ? Gen.OneOf(DateTimes)
                : format == "date" ? Gen.OneOf(Dates)
                : types.Contains("integer") ? Gen.Frequency((2, Gen.OneOf("1", "2", "20", "100")), (1, Gen.OneOf(Integers)))
                : types.Contains("number") ? Gen.OneOf(Numbers)
                : types.Contains("boolean") ? Gen.OneOf("true", "false", "yes", "1")
                : Text;
            // NUL cannot be sent in a path here: the test server refuses to build the request (Kestrel answers 400 itself).
            var text = inPath ? plain.Select(t => t.Replace("\0", "")) : plain;
            var value = Gen.Frequency(
                // What the server decodes: an unpaired surrogate was sent as U+FFFD, which is text.
                (6, text.Select(t => new UrlText(Encode(t), IsRefusedText(Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(t.Replace(Fragment.InvalidByte, '\uFFFD')))) ? "refused text" : null))),
                (1, Gen.OneOf(RawUrlTexts).Select(t => new UrlText(t, null))));
            return inPath ? value.Select(v => (UrlText?)v) : Gen.Frequency((3, Gen.Const((UrlText?)null)), (2, value.Select(v => (UrlText?)v)));
        }

        private static string Encode(string text)
        {
            var encoded = new StringBuilder();
            foreach (var b in Encoding.UTF8.GetBytes(text.Replace(Fragment.InvalidByte, '\uFFFD')))
                encoded.Append(b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_' or (byte)'~'
                    ? ((char)b).ToString() : $"%{b:X2}");
            return encoded.ToString();
        }

        private Gen<(Fragment?, string?)> Body(JsonElement schema, Gen<JsonObject>? example)
        {
            var body = Gen.Frequency(
                (example is null ? 0 : 8, example is null ? Gen.Const(Fragment.Of("{}")) : Mutated(example)),
                (6, Value(schema, 0, nullable: false)),
                (1, Gen.OneOf("", "null", "[]", "\"x\"", "{", "{\"a\":}", "1e400", "{}{}", "[{}]").Select(j => new Fragment(j, "malformed body"))));
            var contentType = Gen.Frequency((30, Gen.Const<string?>("application/json")), (1, Gen.Const<string?>("text/plain")), (1, Gen.Const((string?)null)));
            return Gen.Select(body, contentType, (b, c) => ((Fragment?)b, (string?)c));
        }

        private JsonElement Resolve(JsonElement schema)
        {
            for (var depth = 0; depth < 5; depth++)
            {
                if (schema.TryGetProperty("$ref", out var reference))
                    schema = document.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!.Split('/')[^1]);
                else if (schema.TryGetProperty("oneOf", out var any) || schema.TryGetProperty("anyOf", out any))
                    schema = any.EnumerateArray().FirstOrDefault(s => !Types(s).SequenceEqual(["null"]), any[0]);
                else
                    break;
            }
            return schema;
        }

        private static string[] Types(JsonElement schema) =>
            !schema.TryGetProperty("type", out var type) ? []
            : type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString()!)]
            : [type.GetString()!];

        private Gen<Fragment> Value(JsonElement schema, int depth, bool nullable = true, string? name = null)
        {
            schema = Resolve(schema);
            var types = Types(schema);
            var format = schema.TryGetProperty("format", out var f) ? f.GetString() : null;
            Gen<Fragment> typed =
                types.Contains("array") || schema.TryGetProperty("items", out _) ? Array(schema.TryGetProperty("items", out var items) ? items : default, depth, name)
                : types.Contains("object") || schema.TryGetProperty("properties", out _) ? Object(schema, depth)
                : schema.TryGetProperty("enum", out var values) ? Gen.Frequency(
                    (4, Gen.OneOf([.. values.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => Fragment.Of(v.GetRawText()))])),
                    (1, QuotedText))
                : types.Contains("boolean") ? Gen.OneOf("true", "false", "\"true\"", "1").Select(Fragment.Of)
                : types.Contains("integer") ? Gen.OneOf(Integers).Select(Fragment.Of)
                : types.Contains("number") ? Gen.Frequency((3, Gen.OneOf(Numbers).Select(Fragment.Of)), (1, Gen.Int[-5, 20_000].Select(i => Fragment.Of(i.ToString()))))
                : format == "uuid" ? Gen.Frequency((8, Ids(KindOf(name)).Select(i => Fragment.Of($"\"{i}\""))), (1, QuotedText))
                : format == "date-time" ? Gen.OneOf(DateTimes).Select(d => Fragment.Of($"\"{d}\""))
                : format == "date" ? Gen.OneOf(Dates).Select(d => Fragment.Of($"\"{d}\""))
                : QuotedText;
            return nullable
                ? Gen.Frequency((10, typed), (1, Gen.OneOf(WrongKinds).Select(Fragment.Of)), (1, Gen.Const(Fragment.Of("null"))))
                : typed;
        }

        private Gen<Fragment> AnyValue => Gen.Frequency(
            (2, QuotedText), (1, Gen.OneOf(Numbers).Select(Fragment.Of)), (1, Gen.OneOf(WrongKinds).Select(Fragment.Of)));

        private Gen<Fragment> Array(JsonElement items, int depth, string? name)
        {
            if (depth >= 3)
                return Gen.Const(Fragment.Of("[]"));
            // An array without an item schema holds strings (the document leaves them out).
            var item = items.ValueKind == JsonValueKind.Undefined ? Gen.Frequency((9, QuotedText), (1, Gen.Const(Fragment.Of("null")))) : Value(items, depth + 1, name: name);
            return Gen.Frequency((10, item.Array[0, 3]), (1, item.Array[501])).Select(a =>
                new Fragment("[" + string.Join(',', a.Select(i => i.Json)) + "]", Fragment.First(a)));
        }

        private Gen<Fragment> Object(JsonElement schema, int depth)
        {
            var properties = schema.TryGetProperty("properties", out var p) ? p.EnumerateObject().ToList() : [];
            if (depth >= 3)
                return Gen.Const(Fragment.Of("{}"));
            var members = Sequence(properties.Select(property => Gen.Frequency(
                (4, Value(property.Value, depth + 1, name: property.Name).Select(v => (Fragment?)new Fragment($"\"{property.Name}\":{v.Json}", v.Refusal))),
                (1, Gen.Const((Fragment?)null)))).ToList());
            var extra = Gen.Frequency((8, Gen.Const((Fragment?)null)),
                (1, Gen.Select(Gen.OneOf(ExtraFields), AnyValue, (name, v) => (Fragment?)new Fragment($"\"{name}\":{v.Json}", "unknown field"))));
            var repeat = Gen.Frequency((10, Gen.Const(false)), (1, Gen.Const(true)));
            return Gen.Select(members, extra, repeat, (m, x, twice) =>
            {
                var present = m.Where(f => f is not null).Select(f => f!.Value).ToList();
                if (x is { } unknown)
                    present.Add(unknown);
                if (twice && present.Count > 0)
                    present.Add(new Fragment(present[0].Json, "repeated key"));
                return new Fragment("{" + string.Join(',', present.Select(f => f.Json)) + "}", Fragment.First(present));
            });
        }

        /// <summary>
        /// A valid body with one thing changed: a value replaced by a hostile one, a field removed, an
        /// unknown field added or a key repeated. What is refused is then refused for that one reason.
        /// </summary>
        private Gen<Fragment> Mutated(Gen<JsonObject> example)
        {
            // A replacement of the value's own kind mostly (a boundary number for a number, another id for an id), else anything.
            var anything = Gen.Frequency(
                (3, QuotedText), (2, Gen.OneOf(Numbers).Select(Fragment.Of)), (2, Gen.OneOf(WrongKinds).Select(Fragment.Of)), (1, Gen.Const(Fragment.Of("null"))),
                (1, Gen.OneOf(DateTimes).Select(d => Fragment.Of($"\"{d}\""))));
            var number = Gen.Frequency((3, Gen.OneOf(Numbers).Select(Fragment.Of)), (1, Gen.OneOf(Integers).Select(Fragment.Of)));
            var kinds = new[] { "stores", "terminals", "variants", "products", "categories", "customers", "receipts", "employees" };
            var id = Gen.Select(Gen.OneOf(kinds), Gen.Int[0, 3], (kind, n) => (kind, n)).SelectMany(k => Ids(k.kind)).Select(i => Fragment.Of($"\"{i}\""));
            var replacement = Gen.Select(anything, number, id, QuotedText, Gen.Int[0, 3], (any, num, uuid, text, pick) => (any, num, uuid, text, pick));
            return Gen.Select(example, Gen.Int[0, 1000], Gen.Int[0, 11], replacement, Gen.OneOf(ExtraFields), (body, at, how, r, extra) =>
            {
                var nodes = Nodes(body).ToList();
                if (nodes.Count == 0)
                    how = 1;
                var (parent, key, index) = nodes.Count == 0 ? (body, null, -1) : nodes[at % nodes.Count];
                var current = key is not null ? ((JsonObject)parent)[key] : index >= 0 ? ((JsonArray)parent)[index] : null;
                var value = r.pick == 0 ? r.any
                    : current is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? r.num
                    : current is JsonValue g && g.GetValueKind() == JsonValueKind.String && Guid.TryParse(g.GetValue<string>(), out _) ? r.uuid
                    : current is JsonValue t && t.GetValueKind() == JsonValueKind.String ? r.text
                    : r.any;
                switch (how)
                {
                    case 0 when key is not null:
                        ((JsonObject)parent).Remove(key);
                        return Fragment.Of(body.ToJsonString());
                    case 1:
                        return new Fragment(body.ToJsonString()[..^1] + (body.Count > 0 ? "," : "") + $"\"{extra}\":{value.Json}}}", "unknown field");
                    case 3 or 4:
                        return Fragment.Of(body.ToJsonString());
                    case 2 when body.Count > 0:
                        var (first, firstValue) = body.First();
                        return new Fragment(body.ToJsonString()[..^1] + $",\"{first}\":{firstValue?.ToJsonString() ?? "null"}}}", "repeated key");
                    default:
                        // The chosen value is swapped for a placeholder, then for the hostile JSON text (which JsonNode could not hold).
                        const string placeholder = "hostile-value-placeholder";
                        if (key is not null)
                            ((JsonObject)parent)[key] = placeholder;
                        else
                            ((JsonArray)parent)[index] = placeholder;
                        return new Fragment(body.ToJsonString().Replace($"\"{placeholder}\"", value.Json), value.Refusal);
                }
            });
        }

        /// <summary>Every value in the body with where it sits: (object, key, -) or (array, -, index).</summary>
        private static IEnumerable<(JsonNode Parent, string? Key, int Index)> Nodes(JsonNode node)
        {
            if (node is JsonObject obj)
                foreach (var (key, child) in obj.ToList())
                {
                    yield return (obj, key, -1);
                    if (child is not null)
                        foreach (var inner in Nodes(child))
                            yield return inner;
                }
            else if (node is JsonArray array)
                for (var i = 0; i < array.Count; i++)
                {
                    yield return (array, null, i);
                    if (array[i] is { } child)
                        foreach (var inner in Nodes(child))
                            yield return inner;
                }
        }

        private static Gen<T[]> Sequence<T>(IReadOnlyList<Gen<T>> gens) =>
            gens.Aggregate(Gen.Const(System.Array.Empty<T>()), (all, next) => Gen.Select(all, next, (a, v) => a.Append(v).ToArray()));
    }

    /// <summary>
    /// A valid body for each operation that takes one, for the walk to mutate: without them nearly
    /// every generated body fails validation and the code behind it is never reached. Codes that
    /// must be unique (SKUs, barcodes, emails) are made from a generated number.
    /// </summary>
    private static class Examples
    {
        public static Gen<JsonObject>? For(string operation, World world)
        {
            var shop = world.Shop;
            var ids = world.OwnByKind;
            var (store, otherStore, terminal, variant) = (ids["stores"][0], ids["stores"][1], shop.TerminalByStore[shop.StoreIds[0]].ToString(), ids["variants"][0]);
            JsonObject Variant(int n) => new()
            {
                ["name"] = "Walk variant", ["sku"] = $"WALK-{n}", ["barcodes"] = new JsonArray(Ean13(n)), ["price"] = 1000, ["cost"] = 700, ["unit"] = "piece", ["active"] = true,
            };
            Func<int, JsonObject>? build = operation switch
            {
                "POST /api/v1/auth/register" => n => new()
                {
                    ["businessName"] = "Walk shop", ["ownerName"] = "Walk owner", ["email"] = $"walk-{n}@example.com", ["phone"] = $"+9989{n % 10}{n:D7}"[..13],
                    ["password"] = "Walk#12345",
                },
                "POST /api/v1/auth/login" => _ => new() { ["login"] = "walk@example.com", ["password"] = "Walk#12345" },
                "PUT /api/v1/tenant/settings" => _ => new() { ["currency"] = "UZS", ["timeZone"] = "Asia/Tashkent", ["negativeStock"] = "allow" },
                "PUT /api/v1/taxes" => _ => new() { ["vatPayer"] = true, ["prices"] = "inclusive", ["defaultRateId"] = global::JowiShop.Grains.Abstractions.TaxSettings.Defaults(shop.TenantId).DefaultRateId.ToString() },
                "POST /api/v1/taxes/rates" => n => new() { ["name"] = $"Walk rate {n}", ["percent"] = n % 10_001 / 100m, ["effectiveFrom"] = "2026-01-01" },
                "PATCH /api/v1/taxes/rates/{id}" => n => new() { ["name"] = $"Walk rate {n}" },
                "POST /api/v1/taxes/rates/{id}/changes" => n => new() { ["exempt"] = n % 2 == 0, ["effectiveFrom"] = "2026-01-01" },
                "POST /api/v1/stores" => n => new()
                    { ["name"] = $"Walk store {n}", ["address"] = "Amir Temur 1", ["phone"] = "+998712345678", ["timeZone"] = "Asia/Tashkent", ["allowNegativeStock"] = true },
                "PATCH /api/v1/stores/{id}" => n => new() { ["name"] = $"Walk store {n}", ["address"] = null },
                "POST /api/v1/terminals" => n => new() { ["storeId"] = store, ["name"] = $"Till {n}" },
                "PATCH /api/v1/terminals/{id}" => n => new() { ["name"] = $"Till {n}", ["storeId"] = store },
                "POST /api/v1/products" => n => new()
                    { ["name"] = $"Walk product {n}", ["description"] = "Hostile walk", ["categoryId"] = ids["categories"][0], ["active"] = true, ["variants"] = new JsonArray(Variant(n)) },
                "PATCH /api/v1/products/{id}" => n => new() { ["name"] = $"Walk product {n}", ["description"] = null, ["active"] = true },
                "POST /api/v1/products/{id}/variants" => Variant,
                "PATCH /api/v1/products/{id}/variants/{variantId}" => n => new() { ["price"] = 1000 + n, ["unit"] = "kg", ["barcodes"] = new JsonArray(Ean13(n)) },
                "POST /api/v1/categories" => n => new() { ["name"] = $"Walk category {n}", ["parentId"] = ids["categories"][0] },
                "PATCH /api/v1/categories/{id}" => n => new() { ["name"] = $"Walk category {n}" },
                "POST /api/v1/customers" or "PATCH /api/v1/customers/{id}" => n => new()
                    { ["name"] = $"Walk customer {n}", ["phone"] = $"+99890{n:D7}", ["email"] = $"walk-{n}@example.com", ["cardCode"] = $"WALK{n}", ["notes"] = "regular" },
                "POST /api/v1/employees" or "PATCH /api/v1/employees/{id}" => n => new()
                {
                    ["name"] = $"Walk employee {n}", ["email"] = $"walk-employee-{n}@example.com", ["password"] = "Walk#12345", ["role"] = "cashier",
                    ["position"] = "Till", ["storeIds"] = new JsonArray(store),
                },
                "POST /api/v1/receipts" => n => new()
                {
                    ["storeId"] = store, ["terminalId"] = terminal, ["items"] = new JsonArray(new JsonObject { ["variantId"] = variant, ["quantity"] = 1 + n % 3 }),
                    ["payments"] = new JsonArray(new JsonObject { ["method"] = "cash", ["amount"] = 100000 }), ["note"] = "walk",
                },
                "POST /api/v1/receipts/{id}/refunds" => n => new()
                    { ["items"] = new JsonArray(new JsonObject { ["variantId"] = n % 2 == 0 ? variant : ids["variants"][^1], ["quantity"] = 1 }) },
                "POST /api/v1/inventory/receivings" => n => new()
                {
                    ["storeId"] = store, ["lines"] = new JsonArray(new JsonObject { ["variantId"] = variant, ["quantity"] = 1 + n % 5, ["unitCost"] = 100 }),
                    ["supplierReference"] = $"INV-{n}",
                },
                "POST /api/v1/inventory/adjustments" => n => new()
                {
                    ["storeId"] = store, ["reason"] = "count", ["lines"] = new JsonArray(new JsonObject { ["variantId"] = variant, ["countedQuantity"] = 500 + n % 5 }),
                    ["note"] = "walk",
                },
                "POST /api/v1/inventory/transfers" => n => new()
                {
                    ["fromStoreId"] = store, ["toStoreId"] = otherStore, ["lines"] = new JsonArray(new JsonObject { ["variantId"] = variant, ["quantity"] = 1 + n % 2 }),
                },
                _ => null,
            };
            return build is null ? null : Gen.Int[0, 9_999_999].Select(build);
        }

        private static string Ean13(int n)
        {
            var body = "479" + n.ToString("D9");
            return body + global::JowiShop.Grains.Abstractions.Catalog.Barcodes.CheckDigit(body);
        }
    }

    /// <summary>The tenant walked, with ids and texts of its own and another tenant's ids to reach for.</summary>
    private sealed class World
    {
        public required HttpClient Owner { get; init; }
        public required Guid TenantId { get; init; }
        public required string[] OwnIds { get; init; }
        public required string[] ForeignIds { get; init; }
        public required string[] Texts { get; init; }

        /// <summary>The tenant's ids by kind ("stores", "variants", ...), so that generated ids often name the right thing.</summary>
        public required Dictionary<string, string[]> OwnByKind { get; init; }

        public required TestShop Shop { get; init; }

        public Task<HttpResponseMessage> SendAsync(HostileRequest request)
        {
            var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Url);
            if (request.Body is { } body)
            {
                message.Content = new ByteArrayContent(body);
                if (request.ContentType is { } type)
                    message.Content.Headers.ContentType = new MediaTypeHeaderValue(type) { CharSet = type == "text/plain" ? "utf-8" : null };
            }
            return Owner.SendAsync(message);
        }

        public static async Task<World> CreateAsync(ApiFactory factory)
        {
            var own = await TestShop.CreateAsync(factory, stores: 2, products: 2);
            var foreign = await TestShop.CreateAsync(factory, products: 1);
            var (ownExtras, texts) = await AddExtrasAsync(own);
            var (foreignExtras, _) = await AddExtrasAsync(foreign);
            // The owner's own employee is left out: a 2xx PATCH of its password or role would end the walk's session.
            var cashier = await (await own.Owner.PostAsJsonAsync("/api/v1/employees", new
            {
                name = "Walk cashier", email = $"cashier-{Guid.NewGuid():N}@example.com", password = "Cashier#12345", role = "cashier", storeIds = own.StoreIds,
            })).ReadAsync<JsonElement>(System.Net.HttpStatusCode.Created);
            // A zero-priced line, sold once: refunds of it are a case of their own.
            var free = (await TestCatalog.CreateProductAsync(own.Owner, "Walk free sample", TestCatalog.Variant(price: 0m))).Variants[0].Id;
            var freeSale = await (await own.Owner.PostAsJsonAsync("/api/v1/receipts", new
            {
                storeId = own.StoreIds[0], terminalId = own.TerminalByStore[own.StoreIds[0]],
                items = new[] { new { variantId = free, quantity = 1m } }, payments = new[] { new { method = "cash", amount = 0.01m } },
            })).ReadAsync<JsonElement>(System.Net.HttpStatusCode.Created);
            var freeSaleId = freeSale.GetProperty("id").GetString()!;
            var variant = own.Products[0].Variants[0];
            string[] Strings(IEnumerable<Guid> ids) => [.. ids.Select(i => i.ToString())];
            return new World
            {
                Owner = own.Owner,
                TenantId = own.TenantId,
                Shop = own,
                OwnIds = [.. Ids(own), .. ownExtras, cashier.GetProperty("id").GetString()!, free.ToString(), freeSaleId],
                ForeignIds = [.. Ids(foreign), .. foreignExtras],
                OwnByKind = new()
                {
                    ["stores"] = Strings(own.StoreIds),
                    ["terminals"] = Strings(own.TerminalByStore.Values),
                    ["products"] = Strings(own.Products.Select(p => p.Id)),
                    ["variants"] = Strings(own.VariantIds.Append(free)),
                    ["categories"] = [ownExtras[0]],
                    ["customers"] = [ownExtras[1]],
                    ["receipts"] = [ownExtras[2], freeSaleId],
                    ["employees"] = [cashier.GetProperty("id").GetString()!],
                },
                Texts = [.. texts, variant.Sku, .. variant.Barcodes, "+998 90 123 45 67", "owner@example.com", "cash", "kg", "Asia/Tashkent", "UZS"],
            };
        }

        private static IEnumerable<string> Ids(TestShop shop) =>
            shop.StoreIds.Concat(shop.TerminalByStore.Values).Concat(shop.Products.Select(p => p.Id)).Concat(shop.VariantIds).Select(g => g.ToString());

        /// <summary>A category, a customer and a sale, so that ids and codes of every kind exist.</summary>
        private static async Task<(string[] Ids, string[] Texts)> AddExtrasAsync(TestShop shop)
        {
            var card = "CARD-" + Guid.NewGuid().ToString("N")[..8];
            var email = $"c-{Guid.NewGuid():N}@example.com";
            var category = await (await shop.Owner.PostAsJsonAsync("/api/v1/categories", new { name = "Walk category" })).ReadAsync<JsonElement>(System.Net.HttpStatusCode.Created);
            var customer = await (await shop.Owner.PostAsJsonAsync("/api/v1/customers", new { name = "Walk customer", email, cardCode = card }))
                .ReadAsync<JsonElement>(System.Net.HttpStatusCode.Created);
            var receipt = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(shop.StoreIds[0], lines: 1))).ReadAsync<JsonElement>(System.Net.HttpStatusCode.Created);
            return ([category.GetProperty("id").GetString()!, customer.GetProperty("id").GetString()!, receipt.GetProperty("id").GetString()!],
                [card, email, receipt.GetProperty("receiptNumber").GetString()!]);
        }
    }

    /// <summary>
    /// Row counts, newest updated_at and soft deletes of every table that has a tenant_id (for the
    /// walked tenant), the tenants and users of the deployment, and the grain state table: what a
    /// refused request must leave as it was.
    /// </summary>
    private sealed class Fingerprint(NpgsqlDataSource db, string sql, Guid tenantId)
    {
        public static async Task<Fingerprint> CreateAsync(string connectionString, Guid tenantId)
        {
            var db = NpgsqlDataSource.Create(connectionString);
            var tables = new List<(string Name, bool Updated, bool Deleted, bool Tenant)>();
            await using (var cmd = db.CreateCommand(
                """
                SELECT table_name, bool_or(column_name = 'updated_at'), bool_or(column_name = 'deleted_at'), bool_or(column_name = 'tenant_id')
                FROM information_schema.columns c WHERE table_schema = 'public'
                  AND EXISTS (SELECT 1 FROM information_schema.tables t WHERE t.table_schema = 'public' AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE')
                GROUP BY table_name ORDER BY table_name
                """))
            await using (var reader = await cmd.ExecuteReaderAsync())
                while (await reader.ReadAsync())
                    tables.Add((reader.GetString(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetBoolean(3)));
            // Refusals that are meant to leave a trace are not writes of the refused request: a failed
            // login is audited, a reused refresh token revokes its family (and is audited).
            var parts = tables.Where(t => (t.Tenant || t.Name is "tenants" or "users") && t.Name is not ("audit_log" or "refresh_tokens"))
                .Select(t => $"'{t.Name}=' || (SELECT count(*)::text || '/' || {(t.Updated ? "coalesce(max(updated_at)::text, '-')" : "'-'")} || '/' || "
                    + $"{(t.Deleted ? "count(deleted_at)::text" : "'-'")} FROM \"{t.Name}\"{(t.Tenant ? " WHERE tenant_id = $1" : "")})")
                .Append("'orleansstorage=' || (SELECT count(*)::text || '/' || coalesce(max(modifiedon)::text, '-') FROM orleansstorage)");
            Assert.Contains(tables, t => t.Name == "receipts" && t.Tenant);
            return new Fingerprint(db, "SELECT " + string.Join(" || ' ' || ", parts), tenantId);
        }

        public async Task<string> TakeAsync()
        {
            await using var cmd = db.CreateCommand(sql);
            cmd.Parameters.AddWithValue(tenantId);
            return (string)(await cmd.ExecuteScalarAsync())!;
        }

        /// <summary>The tables whose fingerprint changed, or null.</summary>
        public static string? Difference(string before, string after)
        {
            if (before == after)
                return null;
            var old = before.Split(' ').ToHashSet();
            return string.Join(", ", after.Split(' ').Where(part => !old.Contains(part)));
        }
    }
}
