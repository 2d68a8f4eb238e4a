using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace JowiShop.ApiHost.Features.Receipts;

/// <summary>
/// What a replay of a client id must match: SHA-256 over a canonical form of the validated
/// request, a JSON array of its kind and then its values in a fixed order: every id it names
/// (the URL's included), numbers without trailing zeros (1.50 and 1.5 are one request), absent
/// optional values as null. So the same request hashes the same however its JSON was spelled,
/// and any difference that matters (another store, line, quantity or cost) hashes differently.
/// <para>
/// Hashes are stored with what they committed and compared on every retry, including retries that
/// reach a newer release: a change of this form would turn a genuine retry into a 409. So the form
/// only grows, and compatibly: a field added to a request is added at the end of its form and only
/// when the request carries it (absent, the hash is the one it always was); a form that must change
/// otherwise needs a new kind string (<c>"sale/2"</c>) and a replay check that still accepts the
/// old form's hash for what was stored under it. RequestHashFormTests pins today's forms to their
/// hashes, so a change that breaks this fails a test.
/// </para>
/// </summary>
public sealed class RequestHash
{
    private readonly ArrayBufferWriter<byte> _buffer = new();
    private readonly Utf8JsonWriter _json;

    public RequestHash(string kind)
    {
        _json = new Utf8JsonWriter(_buffer);
        _json.WriteStartArray();
        _json.WriteStringValue(kind);
    }

    public RequestHash Add(Guid? value)
    {
        if (value is { } id) _json.WriteStringValue(id.ToString("D"));
        else _json.WriteNullValue();
        return this;
    }

    public RequestHash Add(decimal? value)
    {
        // "G29" drops trailing zeros: the value, not its scale, identifies the request.
        if (value is { } number) _json.WriteStringValue(number.ToString("G29", CultureInfo.InvariantCulture));
        else _json.WriteNullValue();
        return this;
    }

    public RequestHash Add(string? value)
    {
        if (value is null) _json.WriteNullValue();
        else _json.WriteStringValue(value);
        return this;
    }

    /// <summary>A list, in its order: each item an array of the values <paramref name="write"/> adds.</summary>
    public RequestHash Add<T>(IEnumerable<T>? items, Action<RequestHash, T> write)
    {
        _json.WriteStartArray();
        foreach (var item in items ?? [])
        {
            _json.WriteStartArray();
            write(this, item);
            _json.WriteEndArray();
        }
        _json.WriteEndArray();
        return this;
    }

    public byte[] ToHash()
    {
        _json.WriteEndArray();
        _json.Flush();
        return SHA256.HashData(_buffer.WrittenSpan);
    }
}
