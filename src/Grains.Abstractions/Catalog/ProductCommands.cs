namespace JowiShop.Grains.Abstractions.Catalog;

/// <summary>A new variant, validated by the API (check digits, money scale, lengths).</summary>
[GenerateSerializer, Immutable, Alias("jowishop.VariantDraft")]
public sealed record VariantDraft(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Sku,
    [property: Id(3)] IReadOnlyList<string> Barcodes,
    [property: Id(4)] decimal Price,
    [property: Id(5)] decimal? Cost,
    [property: Id(6)] VariantUnit Unit,
    [property: Id(7)] bool Active,
    [property: Id(8)] Guid? TaxRateId = null,
    [property: Id(9)] string? IkpuCode = null,
    [property: Id(10)] string? PackageCode = null,
    [property: Id(11)] string? UnitCode = null,
    [property: Id(12)] bool Marked = false);

[GenerateSerializer, Immutable, Alias("jowishop.ProductDraft")]
public sealed record ProductDraft(
    [property: Id(0)] string Name,
    [property: Id(1)] string? Description,
    [property: Id(2)] Guid? CategoryId,
    [property: Id(3)] bool Active,
    [property: Id(4)] IReadOnlyList<VariantDraft> Variants);

/// <summary>A partial update: null fields stay as they are; Clear* flags set nullable fields to null.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.ProductPatch")]
public sealed record ProductPatch(
    [property: Id(0)] string? Name = null,
    [property: Id(1)] string? Description = null,
    [property: Id(2)] bool ClearDescription = false,
    [property: Id(3)] Guid? CategoryId = null,
    [property: Id(4)] bool ClearCategory = false,
    [property: Id(5)] bool? Active = null);

[GenerateSerializer, Immutable, Alias("jowishop.VariantPatch")]
public sealed record VariantPatch(
    [property: Id(0)] string? Name = null,
    [property: Id(1)] string? Sku = null,
    [property: Id(2)] IReadOnlyList<string>? Barcodes = null,
    [property: Id(3)] decimal? Price = null,
    [property: Id(4)] decimal? Cost = null,
    [property: Id(5)] bool ClearCost = false,
    [property: Id(6)] VariantUnit? Unit = null,
    [property: Id(7)] bool? Active = null,
    // Who asks, for the audit entry of a price change.
    [property: Id(8)] Guid? ActorId = null,
    [property: Id(9)] Guid? TaxRateId = null,
    [property: Id(10)] bool ClearTaxRate = false,
    [property: Id(11)] string? IkpuCode = null,
    [property: Id(12)] bool ClearIkpuCode = false,
    [property: Id(13)] string? PackageCode = null,
    [property: Id(14)] bool ClearPackageCode = false,
    [property: Id(15)] string? UnitCode = null,
    [property: Id(16)] bool ClearUnitCode = false,
    [property: Id(17)] bool? Marked = null);

public enum CatalogOutcome
{
    Ok,
    NotFound,
    AlreadyExists,
    SkuTaken,
    BarcodeTaken,
    CategoryNotFound,
    LastVariant,
}

/// <summary>
/// The result of a catalog write. Client-caused failures are results, not exceptions;
/// <see cref="ConflictingVariantId"/> names the variant holding a taken SKU or barcode.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.CatalogWrite")]
public sealed record CatalogWrite(
    [property: Id(0)] CatalogOutcome Outcome,
    [property: Id(1)] Product? Product = null,
    [property: Id(2)] string? ConflictingValue = null,
    [property: Id(3)] Guid? ConflictingVariantId = null);
