using JowiShop.Grains.Abstractions.Search;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using Npgsql;

namespace JowiShop.ApiHost.Features.Products;

/// <summary>Back-office product lists: one SQL round trip over the tenant-scoped partial indexes.</summary>
public sealed class ProductQueries(NpgsqlDataSource db)
{
    internal const string ListSql =
        """
        WITH page AS (
            SELECT p.id, p.name, p.description, p.category_id, p.active, p.created_at, p.updated_at, count(*) OVER () AS total
            FROM products p
            WHERE p.tenant_id = $1 AND p.deleted_at IS NULL
              AND ($2::uuid IS NULL OR p.category_id = $2)
              AND ($3::boolean IS NULL OR p.active = $3)
              AND ($4::text IS NULL
                   OR search_key(p.name) LIKE '%' || $4 || '%'
                   OR EXISTS (SELECT 1 FROM product_variants v
                              WHERE v.tenant_id = $1 AND v.product_id = p.id AND v.deleted_at IS NULL AND lower(v.sku) LIKE $4 || '%')
                   OR EXISTS (SELECT 1 FROM variant_barcodes b JOIN product_variants v ON v.id = b.variant_id
                              WHERE b.tenant_id = $1 AND v.product_id = p.id AND b.deleted_at IS NULL AND b.barcode LIKE $7 || '%'))
            ORDER BY p.name, p.id
            LIMIT $5 OFFSET $6
        )
        SELECT page.id, page.name, page.description, page.category_id, page.active, page.created_at, page.updated_at, page.total,
               v.id, v.name, v.sku, v.price, v.cost, v.unit, v.active, v.updated_at,
               ARRAY(SELECT b.barcode FROM variant_barcodes b
                     WHERE b.tenant_id = $1 AND b.variant_id = v.id AND b.deleted_at IS NULL ORDER BY b.created_at, b.barcode),
               v.tax_rate_id, v.ikpu_code, v.package_code, v.unit_code, v.marked
        FROM page
        LEFT JOIN product_variants v ON v.tenant_id = $1 AND v.product_id = page.id AND v.deleted_at IS NULL
        ORDER BY page.name, page.id, v.created_at, v.id
        """;

    public async Task<ListPage<Product>> ListAsync(Guid tenantId, PageRequest page, Guid? categoryId, string? query, bool? active, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(ListSql);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)categoryId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)active ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Boolean });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)LikePattern(query) ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = page.Limit });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = page.Offset });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)LiteralPattern(query) ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });

        var products = new List<Product>();
        long total = 0;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            Product? current = null;
            List<Variant> variants = [];
            while (await reader.ReadAsync(ct))
            {
                var id = reader.GetGuid(0);
                if (current?.Id != id)
                {
                    if (current is not null)
                        products.Add(current with { Variants = variants });
                    variants = [];
                    total = reader.GetInt64(7);
                    current = new Product(id, reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                        reader.IsDBNull(3) ? null : reader.GetGuid(3), reader.GetBoolean(4),
                        [], reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6));
                }
                if (!reader.IsDBNull(8))
                    variants.Add(new Variant(reader.GetGuid(8), id, reader.GetString(9), reader.GetString(10), reader.GetFieldValue<string[]>(16),
                        reader.GetDecimal(11), reader.IsDBNull(12) ? null : reader.GetDecimal(12), VariantUnits.FromSql(reader.GetString(13)),
                        reader.GetBoolean(14), reader.GetFieldValue<DateTimeOffset>(15), reader.IsDBNull(17) ? null : reader.GetGuid(17),
                        reader.IsDBNull(18) ? null : reader.GetString(18), reader.IsDBNull(19) ? null : reader.GetString(19),
                        reader.IsDBNull(20) ? null : reader.GetString(20), !reader.IsDBNull(21) && reader.GetBoolean(21)));
            }
            if (current is not null)
                products.Add(current with { Variants = variants });
        }

        if (products.Count == 0 && page.Page > 1)
            total = await CountAsync(tenantId, categoryId, query, active, ct);
        return new ListPage<Product>(products, page.Page, page.Limit, total);
    }

    private async Task<long> CountAsync(Guid tenantId, Guid? categoryId, string? query, bool? active, CancellationToken ct)
    {
        // Past the last page the windowed count has no row to ride on.
        var all = await ListAsync(tenantId, new PageRequest(1, 1), categoryId, query, active, ct);
        return all.Total;
    }

    /// <summary>
    /// The query as search_key() folds names (lower case, one kind of apostrophe), with LIKE's
    /// wildcards escaped so it matches literally.
    /// </summary>
    public static string? LikePattern(string? query) =>
        query is null ? null : LiteralPattern(SearchKey.Of(query));

    /// <summary>The query as typed (barcodes are case-sensitive), with LIKE's wildcards escaped.</summary>
    public static string? LiteralPattern(string? query) =>
        query?.Trim().Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    /// <summary>The store's stock level of a variant, read from the committed rows.</summary>
    public async Task<decimal?> StockLevelAsync(Guid tenantId, Guid storeId, Guid variantId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            "SELECT quantity FROM stock_levels WHERE tenant_id = $1 AND store_id = $2 AND variant_id = $3");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = storeId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = variantId });
        return await cmd.ExecuteScalarAsync(ct) as decimal?;
    }
}
