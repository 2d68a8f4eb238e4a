namespace JowiShop.Grains.Abstractions.Catalog;

/// <summary>
/// One grain per product (key: product id + tenant id as key extension), owning the product
/// and its variants and barcodes: every write to them passes here, so its memory is the
/// catalog's cache for scans and never serves a stale price.
/// </summary>
public interface IProductGrain : IGrainWithGuidCompoundKey
{
    [Orleans.Concurrency.ReadOnly]
    Task<Product?> GetAsync();

    [Orleans.Concurrency.ReadOnly]
    Task<ScannedVariant?> GetVariantAsync(Guid variantId);

    Task<CatalogWrite> CreateAsync(ProductDraft draft);

    Task<CatalogWrite> UpdateAsync(ProductPatch patch);

    Task<CatalogWrite> DeleteAsync();

    Task<CatalogWrite> AddVariantAsync(VariantDraft draft);

    Task<CatalogWrite> UpdateVariantAsync(Guid variantId, VariantPatch patch);

    Task<CatalogWrite> DeleteVariantAsync(Guid variantId);
}

/// <summary>Where a barcode points: the product grain to ask and the variant in it.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.BarcodeTarget")]
public readonly record struct BarcodeTarget([property: Id(0)] Guid ProductId, [property: Id(1)] Guid VariantId);

/// <summary>
/// A tenant's barcode → scan answer map, split in <see cref="Shards"/> grains (key "{tenant}/{shard}"),
/// each holding the scan answers of its barcodes, loaded in bulk on activation, so that a scan is
/// one call to a shard and a first scan activates no product grain. Product grains send their
/// variants' new answers (and the barcodes they released) after committing a change and before
/// answering, so the next scan from any silo sees it.
/// </summary>
public interface IBarcodeDirectoryGrain : IGrainWithStringKey
{
    public const int Shards = 16;

    public static string Key(Guid tenantId, string barcode) => $"{tenantId:N}/{Barcodes.Shard(barcode, Shards)}";

    /// <summary>What a till gets for the scan: the live variant holding the barcode, with its product; null when none.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<ScannedVariant?> ScanAsync(string barcode);

    [Orleans.Concurrency.ReadOnly]
    Task<BarcodeTarget?> ResolveAsync(string barcode);

    /// <summary>The variants' current answers, for those of their barcodes that belong to this shard.</summary>
    Task MapAsync(IReadOnlyList<ScannedVariant> variants);

    /// <summary>Barcodes the product released (moved, deleted): forgotten unless another product holds them now.</summary>
    Task UnmapAsync(IReadOnlyList<string> barcodes, Guid productId);
}
