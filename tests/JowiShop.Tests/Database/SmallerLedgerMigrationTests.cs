using JowiShop.Grains.Persistence;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Database;

/// <summary>
/// Migration 0015 moves a ledger written in 0014's shape (lines, payments and sale movements as
/// rows, stored batch remainders) into the smaller one, and checks that the views derive exactly
/// what the old tables held, or fails and leaves everything as it was.
/// </summary>
public sealed class SmallerLedgerMigrationTests
{
    private const string Tenant = "00000000-0000-4000-8000-000000000001";
    private const string Store = "00000000-0000-4000-8000-000000000002";

    // Two variants at one store: A received 5 @ 1 then 10 @ 2 and sold 8 (7 left, all in the newer
    // batch); B received 3 @ 0.0001 and sold 4.5 (level -1.5), costed 0.0002 (unit cost 0.0000), and a
    // refund of 1 of A at its sale cost. Sale movements carry the unit cost C# rounded (half to even).
    private const string OldLedger =
        $"""
        INSERT INTO tenants (id, name) VALUES ('{Tenant}', 't');
        INSERT INTO stores (id, tenant_id, name, receipt_seq, refund_seq) VALUES ('{Store}', '{Tenant}', 's', 1, 1);
        INSERT INTO terminals (id, tenant_id, store_id, name) VALUES ('00000000-0000-4000-8000-000000000003', '{Tenant}', '{Store}', 'till');
        INSERT INTO products (id, tenant_id, name) VALUES ('00000000-0000-4000-8000-000000000004', '{Tenant}', 'p');
        INSERT INTO product_variants (id, tenant_id, product_id, name, sku, price) VALUES
            ('00000000-0000-4000-8000-0000000000a1', '{Tenant}', '00000000-0000-4000-8000-000000000004', 'a', 'a', 10),
            ('00000000-0000-4000-8000-0000000000a2', '{Tenant}', '00000000-0000-4000-8000-000000000004', 'b', 'b', 10);
        INSERT INTO stock_batches (id, tenant_id, store_id, variant_id, source, received_qty, remaining_qty, unit_cost, received_at) VALUES
            ('00000000-0000-4000-8000-0000000000b2', '{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a1', 'opening', 10, 7, 2, '2026-11-02'),
            ('00000000-0000-4000-8000-0000000000b1', '{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a1', 'opening', 5, 0, 1, '2026-11-01'),
            ('00000000-0000-4000-8000-0000000000b3', '{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a2', 'opening', 3, 0, 0.0001, '2026-11-02'),
            ('00000000-0000-4000-8000-0000000000b4', '{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a1', 'refund', 1, 1, 1.375, '2026-11-04');
        INSERT INTO stock_levels (tenant_id, store_id, variant_id, quantity, last_unit_cost) VALUES
            ('{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a1', 8, 1.375),
            ('{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a2', -1.5, 0.0001);
        INSERT INTO receipts (id, tenant_id, store_id, terminal_id, cashier_id, kind, refund_of, sequence_no, receipt_number, business_date, created_at,
                              subtotal, discount_total, total, request_hash) VALUES
            ('00000000-0000-4000-8000-0000000000c1', '{Tenant}', '{Store}', '00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000009',
             'sale', NULL, 1, 'R-20261103-0001', '2026-11-03', '2026-11-03 10:00+00', 125, 5, 120, '\x01'),
            ('00000000-0000-4000-8000-0000000000c2', '{Tenant}', '{Store}', '00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000009',
             'refund', '00000000-0000-4000-8000-0000000000c1', 1, 'RF-20261104-0001', '2026-11-04', '2026-11-04 10:00+00', 10, 0, 10, '\x02');
        INSERT INTO receipt_items (receipt_id, line_no, tenant_id, variant_id, quantity, unit_price, discount, line_total, cost_of_goods) VALUES
            ('00000000-0000-4000-8000-0000000000c1', 1, '{Tenant}', '00000000-0000-4000-8000-0000000000a1', 8.000, 10, 5, 75, 11.0000),
            ('00000000-0000-4000-8000-0000000000c1', 2, '{Tenant}', '00000000-0000-4000-8000-0000000000a2', 4.500, 10, 0, 45, 0.0002),
            ('00000000-0000-4000-8000-0000000000c2', 1, '{Tenant}', '00000000-0000-4000-8000-0000000000a1', 1.000, 10, 0, 10, 1.3750);
        INSERT INTO receipt_payments (receipt_id, line_no, tenant_id, method, amount) VALUES
            ('00000000-0000-4000-8000-0000000000c1', 1, '{Tenant}', 'cash', 100), ('00000000-0000-4000-8000-0000000000c1', 2, '{Tenant}', 'card', 20),
            ('00000000-0000-4000-8000-0000000000c2', 1, '{Tenant}', 'cash', 10);
        INSERT INTO stock_movements (tenant_id, store_id, variant_id, kind, quantity, unit_cost, receipt_id, reference, created_at) VALUES
            ('{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a1', 'opening', 5, 1, NULL, NULL, '2026-11-01'),
            ('{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a1', 'opening', 10, 2, NULL, NULL, '2026-11-02'),
            ('{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a2', 'opening', 3, 0.0001, NULL, NULL, '2026-11-02'),
            ('{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a1', 'sale', -8, 1.375, '00000000-0000-4000-8000-0000000000c1', NULL, '2026-11-03 10:00+00'),
            ('{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a2', 'sale', -4.5, 0.0000, '00000000-0000-4000-8000-0000000000c1', NULL, '2026-11-03 10:00+00'),
            ('{Tenant}', '{Store}', '00000000-0000-4000-8000-0000000000a1', 'refund', 1, 1.375, '00000000-0000-4000-8000-0000000000c2', 'refund of R-20261103-0001', '2026-11-04');
        """;

    private const string Movements = "SELECT variant_id, kind, quantity, unit_cost, receipt_id, reference, created_at FROM stock_movements";
    private const string Lines = "SELECT receipt_id, line_no, tenant_id, variant_id, quantity, unit_price, discount, line_total, cost_of_goods FROM receipt_items";
    private const string Payments = "SELECT receipt_id, line_no, tenant_id, method, amount FROM receipt_payments";
    private const string Batches = "SELECT id, received_qty, remaining_qty, unit_cost FROM stock_batches";

    [Fact]
    public async Task Existing_lines_payments_movements_and_remainders_read_the_same_after_0015()
    {
        await using var db = await UpTo0014Async();
        await ExecuteAsync(db, OldLedger);
        var before = new[] { await RowsAsync(db, Movements), await RowsAsync(db, Lines), await RowsAsync(db, Payments), await RowsAsync(db, Batches) };

        await ExecuteAsync(db, Migration0015());

        Assert.Equal(before, new[] { await RowsAsync(db, Movements), await RowsAsync(db, Lines), await RowsAsync(db, Payments), await RowsAsync(db, Batches) });
        // Sale movements now come from the receipt lines; the journal holds the rest.
        Assert.Equal(4L, await ScalarAsync<long>(db, "SELECT count(*) FROM stock_journal"));
        // FIFO sequences in (received_at, id) order, per store.
        Assert.Equal("b1 b2 b3 b4", await ScalarAsync<string>(db, "SELECT string_agg(right(id::text, 2), ' ' ORDER BY fifo_seq) FROM stock_lots"));
    }

    [Fact]
    public async Task A_stored_remainder_the_formula_cannot_derive_fails_the_migration_and_changes_nothing()
    {
        await using var db = await UpTo0014Async();
        await ExecuteAsync(db, OldLedger);
        // Not FIFO: the older batch holds stock while the newer one is empty.
        await ExecuteAsync(db, "UPDATE stock_batches SET remaining_qty = CASE received_qty WHEN 5 THEN 5 WHEN 10 THEN 2 ELSE remaining_qty END");

        var failed = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var connection = await db.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var cmd = new NpgsqlCommand(Migration0015(), connection, transaction);
            await cmd.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        });
        Assert.Contains("batch remainders differ", failed.MessageText);
        Assert.Equal(3L, await ScalarAsync<long>(db, "SELECT count(*) FROM receipt_items"));
        Assert.Equal(6L, await ScalarAsync<long>(db, "SELECT count(*) FROM stock_movements"));
        // Rolled back whole: the old tables are still tables, the new ones absent.
        Assert.Equal("r", await ScalarAsync<string>(db, "SELECT relkind::text FROM pg_class WHERE oid = 'receipt_items'::regclass"));
        Assert.Equal("r", await ScalarAsync<string>(db, "SELECT relkind::text FROM pg_class WHERE oid = 'stock_batches'::regclass"));
        Assert.True(await ScalarAsync<bool>(db, "SELECT to_regclass('stock_lots') IS NULL"));
    }

    private static async Task<NpgsqlDataSource> UpTo0014Async()
    {
        var db = NpgsqlDataSource.Create(await LocalServices.CreateDatabaseAsync("ledger0015"));
        foreach (var (name, sql) in Scripts())
            if (string.CompareOrdinal(name[(name.IndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..], "0015") < 0)
                await ExecuteAsync(db, sql);
        return db;
    }

    private static string Migration0015() => Scripts().Single(s => s.Name.Contains(".Migrations.0015_", StringComparison.Ordinal)).Sql;

    /// <summary>The embedded migration scripts, in the order DatabaseMigrator applies them.</summary>
    private static IEnumerable<(string Name, string Sql)> Scripts()
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.Contains(".Persistence.Migrations.", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            yield return (name, reader.ReadToEnd());
        }
    }

    private static async Task ExecuteAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>The rows as text, sorted; numbers by value (no trailing zeros).</summary>
    private static async Task<List<string>> RowsAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        var rows = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "null"
                : reader.GetValue(i) is decimal d ? d.ToString("G29", System.Globalization.CultureInfo.InvariantCulture)
                : reader.GetValue(i) is DateTime t ? t.ToUniversalTime().ToString("O")
                : reader.GetValue(i).ToString())));
        rows.Sort(StringComparer.Ordinal);
        return rows;
    }
}
