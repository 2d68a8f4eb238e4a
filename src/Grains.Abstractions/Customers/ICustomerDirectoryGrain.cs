using JowiShop.Grains.Abstractions.Search;
using Orleans.Concurrency;

namespace JowiShop.Grains.Abstractions.Customers;

/// <summary>
/// One grain per tenant (keyed by the tenant id): the tenant's live customers in memory, sorted
/// by name, so that lists, lookups at the till and search answer without a database round trip.
/// Every customer write passes here: it commits its row first and only then changes memory.
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

    /// <summary>Best matches first: exact (name, email or phone), then name prefix, then the rest; ties by name.</summary>
    [ReadOnly]
    Task<IReadOnlyList<CustomerHit>> SearchAsync(string query, int limit);

    Task<CustomerWrite> CreateAsync(CustomerFields fields);

    Task<CustomerWrite> UpdateAsync(Guid customerId, CustomerFields fields);

    Task<bool> DeleteAsync(Guid customerId);
}

public enum CustomerKey { Phone, Email, Card }
