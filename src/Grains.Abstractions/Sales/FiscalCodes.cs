namespace JowiShop.Grains.Abstractions.Sales;

/// <summary>
/// What a fiscal receipt line needs of a variant besides VAT: the IKPU (MXIK) code (17 digits), the package
/// code, the unit code and whether the goods are digitally marked. Copied onto the line as sold.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.FiscalCodes")]
public sealed record FiscalCodes(
    [property: Id(0)] string? IkpuCode,
    [property: Id(1)] string? PackageCode,
    [property: Id(2)] string? UnitCode,
    [property: Id(3)] bool Marked)
{
    /// <summary>Null when a variant has none of them, so lines and caches of unregistered goods carry nothing.</summary>
    public static FiscalCodes? Of(string? ikpuCode, string? packageCode, string? unitCode, bool marked) =>
        ikpuCode is null && packageCode is null && unitCode is null && !marked ? null : new(ikpuCode, packageCode, unitCode, marked);
}
