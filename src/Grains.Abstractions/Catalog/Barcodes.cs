namespace JowiShop.Grains.Abstractions.Catalog;

public enum BarcodeSymbology { Ean13, Ean8, UpcA, Code128 }

/// <summary>
/// Barcode rules: all-digit codes of 13, 12 or 8 digits are EAN-13, UPC-A or EAN-8 and must
/// carry a correct check digit; anything else is CODE128, 1 to 48 printable ASCII characters.
/// </summary>
public static class Barcodes
{
    public const int MaxCode128Length = 48;

    public static bool TryClassify(string? code, out BarcodeSymbology symbology, out string error)
    {
        symbology = BarcodeSymbology.Code128;
        error = "";
        if (string.IsNullOrEmpty(code) || code.Length > MaxCode128Length || !code.All(c => c is >= ' ' and <= '~'))
        {
            error = $"must be 1 to {MaxCode128Length} printable ASCII characters";
            return false;
        }
        if (!code.All(char.IsAsciiDigit) || code.Length is not (8 or 12 or 13))
            return true;

        symbology = code.Length switch { 13 => BarcodeSymbology.Ean13, 12 => BarcodeSymbology.UpcA, _ => BarcodeSymbology.Ean8 };
        if (code[^1] - '0' == CheckDigit(code.AsSpan(0, code.Length - 1)))
            return true;
        error = $"is not a valid {Name(symbology)}: wrong check digit";
        return false;
    }

    /// <summary>The GS1 mod-10 check digit of the data digits (weights 3,1,3,... from the right).</summary>
    public static int CheckDigit(ReadOnlySpan<char> digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[digits.Length - 1 - i] - '0';
            sum += i % 2 == 0 ? d * 3 : d;
        }
        return (10 - sum % 10) % 10;
    }

    public static string Name(BarcodeSymbology symbology) => symbology switch
    {
        BarcodeSymbology.Ean13 => "EAN-13",
        BarcodeSymbology.Ean8 => "EAN-8",
        BarcodeSymbology.UpcA => "UPC-A",
        _ => "CODE128",
    };

    public static string ToSql(this BarcodeSymbology symbology) => symbology switch
    {
        BarcodeSymbology.Ean13 => "ean13",
        BarcodeSymbology.Ean8 => "ean8",
        BarcodeSymbology.UpcA => "upca",
        _ => "code128",
    };

    /// <summary>
    /// The directory shard (0..shards-1) a barcode belongs to: the first byte of the SHA-256 of its
    /// UTF-8 bytes, modulo shards. Stable across processes, and the same rule in SQL
    /// (<c>get_byte(sha256(convert_to(barcode, 'UTF8')), 0) % shards</c>), so a shard can load its
    /// barcodes in one query. Every silo must use the same rule: changing it needs a full restart.
    /// </summary>
    public static int Shard(string code, int shards)
    {
        var length = System.Text.Encoding.UTF8.GetMaxByteCount(code.Length);
        Span<byte> utf8 = length <= 256 ? stackalloc byte[length] : new byte[length];
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(utf8[..System.Text.Encoding.UTF8.GetBytes(code, utf8)], hash);
        return hash[0] % shards;
    }
}
