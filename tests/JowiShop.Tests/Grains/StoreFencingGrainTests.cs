using System.Security.Cryptography;
using JowiShop.Grains.Abstractions.Sales;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Grains;

/// <summary>
/// Split brain: two clusters on one database each activate the same store grain. Only one of
/// them can commit at a time; the stale one fails its commit (the fence), writes nothing, and
/// after reloading continues the sequence without a gap or a duplicate.
/// </summary>
public sealed class StoreFencingGrainTests
{
    [Fact]
    public async Task A_stale_second_activation_cannot_commit_a_duplicate_or_a_gap()
    {
        var postgres = await GrainClusters.CreateMigratedDatabaseAsync("fence");
        var (tenantId, storeId, terminalId, userId, variantId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await using (var db = NpgsqlDataSource.Create(postgres))
        await using (var batch = db.CreateBatch())
        {
            void Add(string sql) => batch.BatchCommands.Add(new NpgsqlBatchCommand(sql));
            Add($"INSERT INTO tenants (id, name) VALUES ('{tenantId}', 'T')");
            Add($"INSERT INTO stores (id, tenant_id, name) VALUES ('{storeId}', '{tenantId}', 'S')");
            Add($"INSERT INTO terminals (id, tenant_id, store_id, name) VALUES ('{terminalId}', '{tenantId}', '{storeId}', 'Till')");
            Add($"INSERT INTO products (id, tenant_id, name) VALUES ('{variantId}', '{tenantId}', 'P')");
            Add($"INSERT INTO product_variants (id, tenant_id, product_id, name, sku, price) VALUES ('{variantId}', '{tenantId}', '{variantId}', 'V', 'SKU', 10)");
            await batch.ExecuteNonQueryAsync();
        }

        SaleCommand Sale() => new(Guid.NewGuid(), terminalId, userId, null, [new SaleLine(variantId, 1m, 10m, 0m, 5m)],
            [new Payment(PaymentMethod.Cash, 10m)], null, RandomNumberGenerator.GetBytes(32));

        // Two clusters that cannot see each other, sharing one database: both think they own the store.
        var left = await GrainClusters.StartAsync(postgres, "fence-left", silos: 1);
        var right = await GrainClusters.StartAsync(postgres, "fence-right", silos: 1);
        try
        {
            var leftStore = left.Client.GetGrain<IStoreGrain>(storeId, tenantId.ToString());
            var rightStore = right.Client.GetGrain<IStoreGrain>(storeId, tenantId.ToString());

            Assert.Equal(SaleOutcome.Created, (await leftStore.SellAsync(Sale())).Outcome);
            // The right activation loads now (version 1) and commits, which makes the left one stale.
            var rightFirst = await rightStore.SellAsync(Sale());
            Assert.Equal(SaleOutcome.Created, rightFirst.Outcome);
            Assert.Equal(2, rightFirst.Receipt!.SequenceNo);

            var staleSale = Sale();
            var stale = await leftStore.SellAsync(staleSale);
            Assert.Equal(SaleOutcome.Unavailable, stale.Outcome);

            await using (var db = NpgsqlDataSource.Create(postgres))
            await using (var cmd = db.CreateCommand("SELECT count(*) FROM receipts WHERE id = $1"))
            {
                cmd.Parameters.AddWithValue(staleSale.Id);
                Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);
            }

            // The stale activation gave itself up; its next sale reloads and continues the sequence.
            var retried = await left.Client.GetGrain<IStoreGrain>(storeId, tenantId.ToString()).SellAsync(staleSale);
            Assert.Equal(SaleOutcome.Created, retried.Outcome);
            Assert.Equal(3, retried.Receipt!.SequenceNo);

            await using (var db = NpgsqlDataSource.Create(postgres))
            await using (var cmd = db.CreateCommand("SELECT array_agg(sequence_no ORDER BY sequence_no) FROM receipts WHERE store_id = $1"))
            {
                cmd.Parameters.AddWithValue(storeId);
                Assert.Equal(new long[] { 1, 2, 3 }, (long[])(await cmd.ExecuteScalarAsync())!);
            }
        }
        finally
        {
            await left.StopAllSilosAsync();
            await right.StopAllSilosAsync();
            await left.DisposeAsync();
            await right.DisposeAsync();
        }
    }
}
