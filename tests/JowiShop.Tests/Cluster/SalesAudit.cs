using JowiShop.DemoData;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Cluster;

/// <summary>What the database must show after any fault: the promises on receipts, checked in SQL.</summary>
public static class SalesAudit
{
    public static async Task AssertConsistentAsync(string postgres, ReceiptLoad load)
    {
        await using var db = NpgsqlDataSource.Create(postgres);
        var acknowledged = load.Receipts.Select(r => r.Id).ToArray();
        Assert.Equal(acknowledged.Length, acknowledged.Distinct().Count());

        // Every acknowledged sale is stored, exactly once, under the number it was answered with.
        await using (var cmd = db.CreateCommand("SELECT id, store_id, sequence_no FROM receipts WHERE id = ANY($1)"))
        {
            cmd.Parameters.AddWithValue(acknowledged);
            var stored = new Dictionary<Guid, (Guid Store, long Sequence)>();
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                stored.Add(reader.GetGuid(0), (reader.GetGuid(1), reader.GetInt64(2)));
            var missing = load.Receipts.Where(r => !stored.ContainsKey(r.Id)).ToArray();
            Assert.True(missing.Length == 0, $"{missing.Length} acknowledged receipts are not in the database, e.g. {missing.FirstOrDefault()}");
            var renumbered = load.Receipts.Where(r => stored[r.Id] != (r.StoreId, r.SequenceNo)).ToArray();
            Assert.True(renumbered.Length == 0, $"{renumbered.Length} receipts are stored under another number than answered, e.g. {renumbered.FirstOrDefault()}");
        }

        // Nothing else was stored: every sale was retried until acknowledged (none abandoned), so the
        // database holds exactly the acknowledged ones; numbers are 1..n per store.
        Assert.Empty(load.Abandoned);
        foreach (var (store, _) in ReceiptLoad.DemoStores)
        {
            await using var cmd = db.CreateCommand(
                "SELECT count(*), count(DISTINCT sequence_no), COALESCE(min(sequence_no), 0), COALESCE(max(sequence_no), 0) FROM receipts WHERE tenant_id = $1 AND store_id = $2 AND kind = 'sale'");
            cmd.Parameters.AddWithValue(DemoTenant.TenantId);
            cmd.Parameters.AddWithValue(store);
            await using var reader = await cmd.ExecuteReaderAsync();
            await reader.ReadAsync();
            var (count, distinct, min, max) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
            var expected = load.Receipts.Count(r => r.StoreId == store);
            Assert.True(count == expected, $"store {store}: {count} receipts in the database, {expected} acknowledged");
            Assert.True(distinct == count && (count == 0 || (min == 1 && max == count)),
                $"store {store}: numbers not gapless: {count} receipts, {distinct} distinct numbers, {min}..{max}");
        }

        // Stock conserved: every level equals the sum of its movements (one aggregate: sale
        // movements are derived from the receipt lines, a subquery per level would scan them again).
        await using (var cmd = db.CreateCommand(
            """
            SELECT count(*) FROM stock_levels l
            LEFT JOIN (SELECT store_id, variant_id, sum(quantity) AS quantity FROM stock_movements WHERE tenant_id = $1 GROUP BY store_id, variant_id) m
                   ON m.store_id = l.store_id AND m.variant_id = l.variant_id
            WHERE l.tenant_id = $1 AND l.quantity <> COALESCE(m.quantity, 0)
            """))
        {
            cmd.Parameters.AddWithValue(DemoTenant.TenantId);
            Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);
        }
    }
}
