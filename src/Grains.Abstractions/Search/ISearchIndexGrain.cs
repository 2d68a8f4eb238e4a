using JowiShop.Grains.Abstractions.Catalog;
using Orleans.Concurrency;

namespace JowiShop.Grains.Abstractions.Search;

/// <summary>
/// One grain per tenant (keyed by the tenant id): what global search matches, in memory, for
/// every live product (name, SKUs, barcodes), customer (name, phone, email) and store (name) of
/// the tenant, so a search is one grain call. The grains that own those rows (product grains,
/// the customer directory, the tenant grain) put an entry after committing a change to any of
/// those fields and before answering the write, so the next search from any silo finds it.
/// </summary>
public interface ISearchIndexGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Products whose name contains the query, or a variant's SKU (any case) or barcode (as typed)
    /// starts with it: exact matches first, then name prefixes, then SKU and barcode prefixes, then
    /// other name matches. Customers whose name contains it, whose email starts with it or whose
    /// phone contains its digits (3 or more): exact, then name prefix, then the rest. Stores whose
    /// name contains it: exact, prefix, the rest. Ties by name.
    /// </summary>
    [ReadOnly]
    Task<SearchResults> SearchAsync(string query, int limit);

    Task PutProductAsync(CatalogSearchEntry product);

    Task RemoveProductAsync(Guid productId);

    Task PutCustomerAsync(CustomerHit customer);

    Task RemoveCustomerAsync(Guid customerId);

    Task PutStoreAsync(StoreHit store);

    Task RemoveStoreAsync(Guid storeId);
}

[GenerateSerializer, Immutable, Alias("jowishop.SearchResults")]
public sealed record SearchResults(
    [property: Id(0)] IReadOnlyList<ProductHit> Products,
    [property: Id(1)] IReadOnlyList<CustomerHit> Customers,
    [property: Id(2)] IReadOnlyList<StoreHit> Stores);

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
