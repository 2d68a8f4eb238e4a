using Orleans.Concurrency;

namespace JowiShop.Grains.Abstractions.Customers;

/// <summary>
/// One grain per tenant (keyed by the tenant id): the tenant's live customers in memory, sorted
/// by name, so that lists and lookups at the till answer without a database round trip. Every
/// customer write passes here: it commits its row first and only then changes memory (and tells
/// the tenant's search index).
/// </summary>
public interface ICustomerDirectoryGrain : IGrainWithGuidKey
{
    /// <summary>A page by (name, id); a query matches names (substring), email (prefix) or phone digits (3 or more).</summary>
    [ReadOnly]
    Task<ListPage<Customer>> ListAsync(PageRequest page, string? query);

    [ReadOnly]
    Task<Customer?> GetAsync(Guid customerId);

    /// <summary>The live customer with this normalized phone, email or card code, or null.</summary>
    [ReadOnly]
    Task<Customer?> FindAsync(CustomerKey key, string value);

    Task<CustomerWrite> CreateAsync(CustomerFields fields);

    Task<CustomerWrite> UpdateAsync(Guid customerId, CustomerFields fields);

    Task<bool> DeleteAsync(Guid customerId);
}

public enum CustomerKey { Phone, Email, Card }
