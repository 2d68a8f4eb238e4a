using JowiShop.Grains.Abstractions.Search;
using Orleans.Concurrency;

namespace JowiShop.Grains.Abstractions.Catalog;

/// <summary>
/// One grain per tenant (keyed by the tenant id): what search matches products by (name, SKUs,
/// barcodes) for every live product of the tenant, in memory. Product grains put a product's
/// entry after committing a change to any of those fields and before answering the write, so
/// the next search from any silo finds it.
/// </summary>
public interface ICatalogSearchGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Products whose name contains the query, or a variant's SKU (any case) or barcode (as typed)
    /// starts with it: exact matches first, then name prefixes, then SKU and barcode prefixes, then
    /// other name matches; ties by name.
    /// </summary>
    [ReadOnly]
    Task<IReadOnlyList<ProductHit>> SearchAsync(string query, int limit);

    Task PutAsync(CatalogSearchEntry entry);

    Task RemoveAsync(Guid productId);
}

/// <summary>A live product as search sees it.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.CatalogSearchEntry")]
public sealed record CatalogSearchEntry(
    [property: Id(0)] Guid ProductId,
    [property: Id(1)] string Name,
    [property: Id(2)] bool Active,
    [property: Id(3)] IReadOnlyList<string> Skus,
    [property: Id(4)] IReadOnlyList<string> Barcodes)
{
    public static CatalogSearchEntry Of(Product product) => new(product.Id, product.Name, product.Active,
        product.Variants.Select(v => v.Sku).ToArray(), product.Variants.SelectMany(v => v.Barcodes).ToArray());

    public bool SameAs(CatalogSearchEntry other) => Name == other.Name && Active == other.Active
        && Skus.SequenceEqual(other.Skus, StringComparer.Ordinal) && Barcodes.SequenceEqual(other.Barcodes, StringComparer.Ordinal);
}
