using JowiShop.ApiHost.Features.Auth;
using System.Net.Http.Json;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using Npgsql;

namespace JowiShop.Tests.Infrastructure;

/// <summary>A registered tenant with stores, terminals, products and opening stock, ready to sell.</summary>
public sealed record TestShop(
    HttpClient Owner, RegisterResponse Registration, IReadOnlyList<Guid> StoreIds, IReadOnlyDictionary<Guid, Guid> TerminalByStore,
    IReadOnlyList<Product> Products, string PostgresConnectionString)
{
    public Guid TenantId => Registration.TenantId;

    public IEnumerable<Guid> VariantIds => Products.SelectMany(p => p.Variants.Select(v => v.Id));

    public static async Task<TestShop> CreateAsync(ApiFactory factory, int stores = 1, int products = 3, decimal openingStock = 1000m,
        decimal unitCost = 100m)
    {
        var (owner, registration) = await factory.RegisterAsync();
        var storeIds = new List<Guid> { registration.StoreId };
        var terminals = new Dictionary<Guid, Guid>();
        await using var db = NpgsqlDataSource.Create(factory.PostgresConnectionString);
        for (var i = 1; i < stores; i++)
            storeIds.Add((await (await owner.PostAsJsonAsync("/api/v1/stores", new { name = $"Store {i + 1}" })).ReadAsync<Store>(System.Net.HttpStatusCode.Created)).Id);
        foreach (var storeId in storeIds)
            terminals[storeId] = (await (await owner.PostAsJsonAsync("/api/v1/terminals", new { storeId, name = "Till 1" }))
                .ReadAsync<Terminal>(System.Net.HttpStatusCode.Created)).Id;

        var created = new List<Product>();
        for (var i = 0; i < products; i++)
            created.Add(await TestCatalog.CreateProductAsync(owner, $"Product {i}", TestCatalog.Variant(price: 1000m * (i + 1))));

        var shop = new TestShop(owner, registration, storeIds, terminals, created, factory.PostgresConnectionString);
        if (openingStock > 0)
            foreach (var storeId in storeIds)
                foreach (var variantId in shop.VariantIds)
                    await shop.ReceiveAsync(storeId, variantId, openingStock, unitCost, DateTimeOffset.UtcNow.AddDays(-1));
        return shop;
    }

    /// <summary>
    /// Opening stock written straight to the tables (before any store grain has loaded it): the
    /// batch takes the store's next FIFO sequence, its remainder follows from the level.
    /// </summary>
    public async Task ReceiveAsync(Guid storeId, Guid variantId, decimal quantity, decimal unitCost, DateTimeOffset receivedAt)
    {
        await using var db = NpgsqlDataSource.Create(PostgresConnectionString);
        await ExecuteAsync(db,
            """
            WITH batch AS (
                INSERT INTO stock_lots (id, tenant_id, store_id, variant_id, source, received_qty, unit_cost, received_at, fifo_seq)
                SELECT $1, $2, $3, $4, 'opening', $5, $6, $7, COALESCE(max(fifo_seq), 0) + 1 FROM stock_lots WHERE tenant_id = $2 AND store_id = $3
            ), movement AS (
                INSERT INTO stock_journal (tenant_id, store_id, variant_id, kind, quantity, unit_cost, created_at)
                VALUES ($2, $3, $4, 'opening', $5, $6, $7)
            )
            INSERT INTO stock_levels (tenant_id, store_id, variant_id, quantity, last_unit_cost)
            VALUES ($2, $3, $4, $5, $6)
            ON CONFLICT (tenant_id, store_id, variant_id) DO UPDATE
            SET quantity = stock_levels.quantity + EXCLUDED.quantity, last_unit_cost = EXCLUDED.last_unit_cost
            """,
            Guid.CreateVersion7(), TenantId, storeId, variantId, quantity, unitCost, receivedAt);
    }

    public object Sale(Guid storeId, Guid? id = null, int lines = 2, decimal quantity = 1m, string? note = null, decimal? cash = null)
    {
        var variants = VariantIds.Take(lines).ToArray();
        var prices = Products.SelectMany(p => p.Variants).ToDictionary(v => v.Id, v => v.Price);
        var total = variants.Sum(v => prices[v] * quantity);
        return new
        {
            id = id ?? Guid.NewGuid(),
            storeId,
            terminalId = TerminalByStore[storeId],
            items = variants.Select(v => new { variantId = v, quantity }).ToArray(),
            payments = new[] { new { method = "cash", amount = cash ?? total } },
            note,
        };
    }

    public static async Task ExecuteAsync(NpgsqlDataSource db, string sql, params object[] values)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var value in values)
            cmd.Parameters.AddWithValue(value);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] values)
    {
        await using var db = NpgsqlDataSource.Create(PostgresConnectionString);
        await using var cmd = db.CreateCommand(sql);
        foreach (var value in values)
            cmd.Parameters.AddWithValue(value);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public async Task<List<long>> SequenceNumbersAsync(Guid storeId)
    {
        await using var db = NpgsqlDataSource.Create(PostgresConnectionString);
        await using var cmd = db.CreateCommand("SELECT sequence_no FROM receipts WHERE tenant_id = $1 AND store_id = $2 AND kind = 'sale' ORDER BY sequence_no");
        cmd.Parameters.AddWithValue(TenantId);
        cmd.Parameters.AddWithValue(storeId);
        var result = new List<long>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            result.Add(reader.GetInt64(0));
        return result;
    }

    /// <summary>
    /// Stock conservation per (store, variant): the level equals the sum of its movements, and
    /// equals the sum of batch remainders unless it went negative (then the batches are empty).
    /// Returns the violations, empty when all hold.
    /// </summary>
    public async Task<List<string>> ConservationViolationsAsync()
    {
        await using var db = NpgsqlDataSource.Create(PostgresConnectionString);
        // One aggregate per view: movements and batches are derived (0015), so a subquery per
        // level would derive them again for every level.
        await using var cmd = db.CreateCommand(
            """
            SELECT l.store_id, l.variant_id, l.quantity, COALESCE(m.quantity, 0), COALESCE(b.remaining, 0)
            FROM stock_levels l
            LEFT JOIN (SELECT store_id, variant_id, sum(quantity) AS quantity FROM stock_movements WHERE tenant_id = $1 GROUP BY store_id, variant_id) m
                   ON m.store_id = l.store_id AND m.variant_id = l.variant_id
            LEFT JOIN (SELECT store_id, variant_id, sum(remaining_qty) AS remaining FROM stock_batches WHERE tenant_id = $1 GROUP BY store_id, variant_id) b
                   ON b.store_id = l.store_id AND b.variant_id = l.variant_id
            WHERE l.tenant_id = $1
            """);
        cmd.Parameters.AddWithValue(TenantId);
        var violations = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var (level, moved, batches) = (reader.GetDecimal(2), reader.GetDecimal(3), reader.GetDecimal(4));
            if (level != moved || (level >= 0 ? batches != level : batches != 0))
                violations.Add($"store {reader.GetGuid(0)} variant {reader.GetGuid(1)}: level {level}, movements {moved}, batches {batches}");
        }
        return violations;
    }
}
