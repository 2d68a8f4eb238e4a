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
/// A tenant's barcode → variant map, split in <see cref="Shards"/> grains (key "{tenant}/{shard}")
/// so that unknown barcodes cost a bounded set of activations instead of one each.
/// Product grains tell it about every barcode they add or remove before answering the write.
/// </summary>
public interface IBarcodeDirectoryGrain : IGrainWithStringKey
{
    public const int Shards = 16;

    public static string Key(Guid tenantId, string barcode) => $"{tenantId:N}/{Barcodes.Shard(barcode, Shards)}";

    Task<BarcodeTarget?> ResolveAsync(string barcode);

    Task MapAsync(IReadOnlyList<string> barcodes, BarcodeTarget target);

    Task UnmapAsync(IReadOnlyList<string> barcodes);
}
