using System.Security.Claims;
using JowiShop.ApiHost.Features.Products;
using JowiShop.ApiHost.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using NpgsqlTypes;

namespace JowiShop.ApiHost.Features.Search;

public sealed record ProductHit(Guid Id, string Name, bool Active, string MatchedBy);
public sealed record CustomerHit(Guid Id, string Name, string? Phone, string? Email);
public sealed record StoreHit(Guid Id, string Name);
public sealed record SearchResults(IReadOnlyList<ProductHit> Products, IReadOnlyList<CustomerHit> Customers, IReadOnlyList<StoreHit> Stores);

/// <summary>
/// Global search: one SQL round trip (three statements in a batch) over trigram and prefix
/// indexes. Exact matches rank first, then prefixes, then substrings; committed rows only, so a
/// write is found by the next search.
/// </summary>
public static class SearchEndpoints
{
    public const int DefaultLimit = 10;
    public const int MaxLimit = 50;

    internal const string ProductsSql =
        """
        SELECT id, name, active, min(rank) AS rank, (array_agg(matched ORDER BY rank))[1]
        FROM (
            SELECT p.id, p.name, p.active, CASE WHEN search_key(p.name) = $2 THEN 0 WHEN search_key(p.name) LIKE $2 || '%' THEN 1 ELSE 3 END AS rank, 'name' AS matched
            FROM products p WHERE p.tenant_id = $1 AND p.deleted_at IS NULL AND search_key(p.name) LIKE '%' || $2 || '%'
            UNION ALL
            SELECT p.id, p.name, p.active, CASE WHEN lower(v.sku) = $2 THEN 0 ELSE 2 END, 'sku'
            FROM product_variants v JOIN products p ON p.id = v.product_id AND p.deleted_at IS NULL
            WHERE v.tenant_id = $1 AND v.deleted_at IS NULL AND lower(v.sku) LIKE $2 || '%'
            UNION ALL
            SELECT p.id, p.name, p.active, CASE WHEN b.barcode = $3 THEN 0 ELSE 2 END, 'barcode'
            FROM variant_barcodes b JOIN product_variants v ON v.id = b.variant_id AND v.deleted_at IS NULL
            JOIN products p ON p.id = v.product_id AND p.deleted_at IS NULL
            WHERE b.tenant_id = $1 AND b.deleted_at IS NULL AND b.barcode LIKE $3 || '%'
        ) hits
        GROUP BY id, name, active
        ORDER BY rank, name, id
        LIMIT $4
        """;

    internal const string CustomersSql =
        """
        SELECT id, name, phone, email,
               CASE WHEN search_key(name) = $2 OR lower(email) = $2 OR phone = '+' || $5 THEN 0
                    WHEN search_key(name) LIKE $2 || '%' THEN 1 ELSE 2 END AS rank
        FROM customers
        WHERE tenant_id = $1 AND deleted_at IS NULL
          AND (search_key(name) LIKE '%' || $2 || '%' OR lower(email) LIKE $2 || '%' OR ($5::text IS NOT NULL AND phone LIKE '%' || $5 || '%'))
        ORDER BY rank, name, id
        LIMIT $4
        """;

    internal const string StoresSql =
        """
        SELECT id, name, CASE WHEN search_key(name) = $2 THEN 0 WHEN search_key(name) LIKE $2 || '%' THEN 1 ELSE 2 END AS rank
        FROM stores
        WHERE tenant_id = $1 AND deleted_at IS NULL AND search_key(name) LIKE '%' || $2 || '%'
        ORDER BY rank, name, id
        LIMIT $4
        """;

    public static RouteGroupBuilder MapSearchEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/search", Search).WithTags("Search").RequireAuthorization(Policies.Staff)
            .WithSummary("Products (name, SKU or barcode prefix), customers (name, phone digits, email) and stores (name), best matches first.");
        return api;
    }

    private static async Task<Results<Ok<SearchResults>, ValidationProblem>> Search(string? query, int? limit, ClaimsPrincipal user,
        NpgsqlDataSource db, CancellationToken ct)
    {
        var trimmed = query?.Trim();
        var errors = new FieldErrors()
            .Require(trimmed is { Length: >= 2 and <= 100 }, "query", "must be 2 to 100 characters")
            .Require(limit is null or (>= 1 and <= MaxLimit), "limit", $"must be 1 to {MaxLimit}");
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var digits = new string(trimmed!.Where(char.IsAsciiDigit).ToArray());
        await using var batch = db.CreateBatch();
        foreach (var sql in new[] { ProductsSql, CustomersSql, StoresSql })
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = user.GetTenantId() });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ProductQueries.LikePattern(trimmed)! });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ProductQueries.LiteralPattern(trimmed)! });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit ?? DefaultLimit });
            command.Parameters.Add(new NpgsqlParameter { Value = digits.Length >= 3 ? digits : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            batch.BatchCommands.Add(command);
        }

        var products = new List<ProductHit>();
        var customers = new List<CustomerHit>();
        var stores = new List<StoreHit>();
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            products.Add(new ProductHit(reader.GetGuid(0), reader.GetString(1), reader.GetBoolean(2), reader.GetString(4)));
        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct))
            customers.Add(new CustomerHit(reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct))
            stores.Add(new StoreHit(reader.GetGuid(0), reader.GetString(1)));
        return TypedResults.Ok(new SearchResults(products, customers, stores));
    }
}
