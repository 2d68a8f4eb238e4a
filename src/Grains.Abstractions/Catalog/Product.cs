namespace JowiShop.Grains.Abstractions.Catalog;

/// <summary>A sellable variant of a product: what a till gets for a scan.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.Variant")]
public sealed record Variant(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid ProductId,
    [property: Id(2)] string Name,
    [property: Id(3)] string Sku,
    [property: Id(4)] IReadOnlyList<string> Barcodes,
    [property: Id(5)] decimal Price,
    [property: Id(6)] decimal? Cost,
    [property: Id(7)] VariantUnit Unit,
    [property: Id(8)] bool Active,
    [property: Id(9)] DateTimeOffset UpdatedAt,
    // The variant's own tax rate; null: its category's, else the tenant default (docs/taxes.md).
    [property: Id(10)] Guid? TaxRateId = null,
    // Fiscal product data (docs/taxes.md): IKPU (MXIK, 17 digits), package code, unit code, digitally marked.
    [property: Id(11)] string? IkpuCode = null,
    [property: Id(12)] string? PackageCode = null,
    [property: Id(13)] string? UnitCode = null,
    [property: Id(14)] bool Marked = false)
{
    // Derived from the fields above: not a second copy in the answer.
    [System.Text.Json.Serialization.JsonIgnore]
    public Sales.FiscalCodes? Fiscal => Sales.FiscalCodes.Of(IkpuCode, PackageCode, UnitCode, Marked);
}

/// <summary>A product with its live variants.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.Product")]
public sealed record Product(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string? Description,
    [property: Id(3)] Guid? CategoryId,
    [property: Id(4)] bool Active,
    [property: Id(5)] IReadOnlyList<Variant> Variants,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] DateTimeOffset UpdatedAt);

/// <summary>The answer to a barcode scan: the variant and what the till shows of its product.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.ScannedVariant")]
public sealed record ScannedVariant(
    [property: Id(0)] Variant Variant,
    [property: Id(1)] Guid ProductId,
    [property: Id(2)] string ProductName,
    [property: Id(3)] Guid? CategoryId,
    [property: Id(4)] bool ProductActive)
{
    public static ScannedVariant Of(Product product, Variant variant) => new(variant, product.Id, product.Name, product.CategoryId, product.Active);

    /// <summary>Whether a scan would answer the same (records compare lists by reference).</summary>
    public bool SameAs(ScannedVariant other) =>
        Variant with { Barcodes = other.Variant.Barcodes } == other.Variant && Variant.Barcodes.SequenceEqual(other.Variant.Barcodes, StringComparer.Ordinal)
        && ProductId == other.ProductId && ProductName == other.ProductName && CategoryId == other.CategoryId && ProductActive == other.ProductActive;
}
