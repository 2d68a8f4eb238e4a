using JowiShop.ApiHost.Features.Products;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Persistence;
using Npgsql;
using NpgsqlTypes;

namespace JowiShop.ApiHost.Features.Customers;

public sealed record Customer(Guid Id, string Name, string? Phone, string? Email, string? CardCode, string? Notes,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>The customer fields a write sets; null fields are stored as null.</summary>
public sealed record CustomerFields(string Name, string? Phone, string? Email, string? CardCode, string? Notes);

public enum CustomerConflict { None, Phone, Card }

/// <summary>
/// Customers: plain SQL from the endpoint, one round trip each, over the tenant-scoped partial
/// indexes. No cache, so a write is visible to the next read from anywhere.
/// </summary>
public sealed class Customers(NpgsqlDataSource db)
{
    private const string Columns = "id, name, phone, email, card_code, notes, created_at, updated_at";

    internal const string ListSql =
        $"""
        SELECT {Columns}, count(*) OVER ()
        FROM customers
        WHERE tenant_id = $1 AND deleted_at IS NULL
          AND ($2::text IS NULL OR search_key(name) LIKE '%' || $2 || '%' OR lower(email) LIKE $2 || '%'
               OR ($3::text IS NOT NULL AND phone LIKE '%' || $3 || '%'))
        ORDER BY name, id
        LIMIT $4 OFFSET $5
        """;

    /// <summary>
    /// The unfiltered list: a page by the (tenant, name, id) index and the total from the
    /// trigger-kept counter, in one round trip (counting the tenant's customers per request is not).
    /// </summary>
    internal const string PageSql =
        $"SELECT {Columns} FROM customers WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY name, id LIMIT $2 OFFSET $3";

    internal const string CountSql = "SELECT COALESCE((SELECT live FROM customer_counts WHERE tenant_id = $1), 0)";

    /// <summary>By id, phone, card code or lower(email): each a tenant-scoped index of live customers.</summary>
    internal static string FindSql(string column) =>
        $"SELECT {Columns} FROM customers WHERE tenant_id = $1 AND {column} = $2 AND deleted_at IS NULL";

    public async Task<ListPage<Customer>> ListAsync(Guid tenantId, PageRequest page, string? query, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(query))
            return await PageAsync(tenantId, page, ct);
        var pattern = ProductQueries.LikePattern(query);
        var digits = query is null ? null : new string(query.Where(char.IsAsciiDigit).ToArray());
        await using var cmd = db.CreateCommand(ListSql);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)pattern ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = digits is { Length: >= 3 } ? digits : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = page.Limit });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = page.Offset });
        var items = new List<Customer>();
        long total = 0;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                items.Add(Read(reader));
                total = reader.GetInt64(8);
            }
        if (items.Count == 0 && page.Page > 1)
            total = (await ListAsync(tenantId, new PageRequest(1, 1), query, ct)).Total;
        return new ListPage<Customer>(items, page.Page, page.Limit, total);
    }

    private async Task<ListPage<Customer>> PageAsync(Guid tenantId, PageRequest page, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(Sql.Command(PageSql, tenantId, page.Limit, page.Offset));
        batch.BatchCommands.Add(Sql.Command(CountSql, tenantId));
        var items = new List<Customer>();
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            items.Add(Read(reader));
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        return new ListPage<Customer>(items, page.Page, page.Limit, reader.GetInt64(0));
    }

    /// <summary>The live customer whose column equals the value (id, phone or card_code), or null.</summary>
    public async Task<Customer?> FindAsync(Guid tenantId, string column, object value, CancellationToken ct)
    {
        // column is one of the fixed names chosen by the caller, never input.
        await using var cmd = db.CreateCommand(FindSql(column));
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = value });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    public async Task<(Customer? Customer, CustomerConflict Conflict, Guid? ConflictingId)> CreateAsync(Guid tenantId, CustomerFields fields, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        return await WriteAsync(tenantId, fields,
            $"INSERT INTO customers (id, tenant_id, name, phone, email, card_code, notes, created_at, updated_at) VALUES ($2, $1, $3, $4, $5, $6, $7, $8, $8) RETURNING {Columns}",
            Guid.CreateVersion7(), now, ct);
    }

    public async Task<(Customer? Customer, CustomerConflict Conflict, Guid? ConflictingId)> UpdateAsync(Guid tenantId, Guid id, CustomerFields fields, CancellationToken ct) =>
        await WriteAsync(tenantId, fields,
            $"UPDATE customers SET name = $3, phone = $4, email = $5, card_code = $6, notes = $7, updated_at = $8 WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING {Columns}",
            id, DateTimeOffset.UtcNow, ct);

    public async Task<bool> DeleteAsync(Guid tenantId, Guid id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("UPDATE customers SET deleted_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    private async Task<(Customer?, CustomerConflict, Guid?)> WriteAsync(Guid tenantId, CustomerFields f, string sql, Guid id, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(sql);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = f.Name });
        foreach (var value in new[] { f.Phone, f.Email, f.CardCode, f.Notes })
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        try
        {
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            return (await reader.ReadAsync(ct) ? Read(reader) : null, CustomerConflict.None, null);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            var (conflict, column, value) = e.ConstraintName == "ux_customers_tenant_card"
                ? (CustomerConflict.Card, "card_code", f.CardCode!)
                : (CustomerConflict.Phone, "phone", f.Phone!);
            return (null, conflict, (await FindAsync(tenantId, column, value, ct))?.Id);
        }
    }

    private static Customer Read(NpgsqlDataReader r) => new(r.GetGuid(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2),
        r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
        r.GetFieldValue<DateTimeOffset>(6), r.GetFieldValue<DateTimeOffset>(7));
}
