using System.Collections.Concurrent;
using Npgsql;

namespace JowiShop.ApiHost.Features.Receipts;

/// <summary>
/// Which product each variant belongs to, so a receipt line can reach its product grain. A
/// variant never changes product, so this map cannot go stale (deletion is the product grain's
/// to report); it is bounded by clearing when it grows past a million entries.
/// </summary>
public sealed class VariantProducts(NpgsqlDataSource db)
{
    private const int MaxEntries = 1_000_000;
    private readonly ConcurrentDictionary<(Guid Tenant, Guid Variant), Guid> _products = new();

    /// <summary>The product of each variant that exists (live or deleted) in the tenant.</summary>
    public async Task<Dictionary<Guid, Guid>> ResolveAsync(Guid tenantId, IReadOnlyCollection<Guid> variantIds, CancellationToken ct)
    {
        var result = new Dictionary<Guid, Guid>(variantIds.Count);
        var missing = new List<Guid>();
        foreach (var variantId in variantIds)
        {
            if (_products.TryGetValue((tenantId, variantId), out var productId))
                result[variantId] = productId;
            else
                missing.Add(variantId);
        }
        if (missing.Count == 0)
            return result;

        await using var cmd = db.CreateCommand("SELECT id, product_id FROM product_variants WHERE tenant_id = $1 AND id = ANY($2)");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = missing.ToArray() });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (_products.Count > MaxEntries)
            _products.Clear();
        while (await reader.ReadAsync(ct))
        {
            result[reader.GetGuid(0)] = reader.GetGuid(1);
            _products[(tenantId, reader.GetGuid(0))] = reader.GetGuid(1);
        }
        return result;
    }
}
