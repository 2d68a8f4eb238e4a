using JowiShop.DemoData;
using JowiShop.Grains.Persistence;
using JowiShop.Grains.Sales;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Database;

/// <summary>
/// The ledger writer puts the commits waiting at one moment, of any stores, into one transaction.
/// Each test holds the first commit behind a row lock so the next ones are sure to wait and be
/// written together.
/// </summary>
public sealed class LedgerWriterTests : IAsyncLifetime
{
    private string _connectionString = "";
    private NpgsqlDataSource _db = null!;
    private Guid _variant;

    public async Task InitializeAsync()
    {
        _connectionString = await LocalServices.CreateDatabaseAsync("ledger");
        DatabaseMigrator.Apply(_connectionString);
        await DemoDataSet.SeedAsync(_connectionString, new DemoDataOptions { SecondTenant = false });
        _db = NpgsqlDataSource.Create(_connectionString);
        await using var cmd = _db.CreateCommand("SELECT id FROM product_variants WHERE tenant_id = $1 ORDER BY id LIMIT 1");
        cmd.Parameters.AddWithValue(DemoTenant.TenantId);
        _variant = (Guid)(await cmd.ExecuteScalarAsync())!;
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task One_stores_refused_commit_does_not_fail_another_stores_commit_in_the_same_transaction()
    {
        var ledger = new LedgerWriter(_db, lanes: 1);
        var central = await FenceAsync(DemoTenant.CentralStoreId);
        var chilanzar = await FenceAsync(DemoTenant.ChilanzarStoreId);

        var (first, release) = await HeldBehindRowLockAsync(ledger, Commit(DemoTenant.CentralStoreId, central, level: 5m));
        // Stale: as if another activation of Chilanzar had committed meanwhile.
        var stale = ledger.CommitAsync(Commit(DemoTenant.ChilanzarStoreId, chilanzar with { Version = chilanzar.Version - 1 }, level: 99m));
        var next = ledger.CommitAsync(Commit(DemoTenant.CentralStoreId, Next(central), level: 4m));
        await release();

        await first;
        await next;
        var refused = await Assert.ThrowsAsync<PostgresException>(() => stale);
        Assert.Equal("JW001", refused.SqlState);
        Assert.Equal(central.Version + 2, (await FenceAsync(DemoTenant.CentralStoreId)).Version);
        Assert.Equal(chilanzar, await FenceAsync(DemoTenant.ChilanzarStoreId));
        Assert.Equal(4m, await LevelAsync(DemoTenant.CentralStoreId));
        Assert.NotEqual(99m, await LevelAsync(DemoTenant.ChilanzarStoreId));
    }

    [Fact]
    public async Task A_stores_consecutive_commits_in_one_transaction_move_its_fence_once_and_leave_the_last_level()
    {
        var ledger = new LedgerWriter(_db, lanes: 1);
        var central = await FenceAsync(DemoTenant.CentralStoreId);
        var chilanzar = await FenceAsync(DemoTenant.ChilanzarStoreId);

        var (first, release) = await HeldBehindRowLockAsync(ledger, Commit(DemoTenant.CentralStoreId, central, level: 5m));
        var one = ledger.CommitAsync(Commit(DemoTenant.ChilanzarStoreId, chilanzar, level: 10m));
        var two = ledger.CommitAsync(Commit(DemoTenant.ChilanzarStoreId, Next(chilanzar), level: 7m));
        await release();

        await Task.WhenAll(first, one, two);
        Assert.Equal(Next(Next(chilanzar)), await FenceAsync(DemoTenant.ChilanzarStoreId));
        Assert.Equal(7m, await LevelAsync(DemoTenant.ChilanzarStoreId));
    }

    /// <summary>Submits a commit while another connection holds its store's row, and waits until the writer is blocked on it.</summary>
    private async Task<(Task Commit, Func<Task> Release)> HeldBehindRowLockAsync(LedgerWriter ledger, StoreCommit commit)
    {
        var holder = await _db.OpenConnectionAsync();
        var transaction = await holder.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM stores WHERE id = $1 FOR UPDATE", holder, transaction))
        {
            lockRow.Parameters.AddWithValue(commit.StoreId);
            await lockRow.ExecuteScalarAsync();
        }
        var submitted = ledger.CommitAsync(commit);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await WriterWaitsOnLockAsync())
        {
            Assert.True(DateTime.UtcNow < until, "the ledger writer never blocked on the held row");
            Assert.False(submitted.IsCompleted, "the first commit finished despite the held row");
            await Task.Delay(20);
        }
        return (submitted, async () =>
        {
            await transaction.RollbackAsync();
            await holder.DisposeAsync();
        });
    }

    private async Task<bool> WriterWaitsOnLockAsync()
    {
        await using var cmd = _db.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%store_commit_fences%'");
        return (long)(await cmd.ExecuteScalarAsync())! > 0;
    }

    private StoreCommit Commit(Guid storeId, StoreFence fence, decimal level) =>
        new(DemoTenant.TenantId, storeId, fence, [], [], [], [], [], [(_variant, level, 1.5m)], []);

    /// <summary>The fence of the commit after this one (no receipts: only the version moves).</summary>
    private static StoreFence Next(StoreFence fence) =>
        fence with { Version = fence.Version + 1, PreviousReceiptSeq = fence.ReceiptSeq, PreviousRefundSeq = fence.RefundSeq };

    private async Task<StoreFence> FenceAsync(Guid storeId)
    {
        await using var cmd = _db.CreateCommand("SELECT commit_version, receipt_seq, refund_seq FROM stores WHERE id = $1");
        cmd.Parameters.AddWithValue(storeId);
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var (version, receipts, refunds) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        return new StoreFence(version, receipts, receipts, refunds, refunds);
    }

    private async Task<decimal?> LevelAsync(Guid storeId)
    {
        await using var cmd = _db.CreateCommand("SELECT quantity FROM stock_levels WHERE store_id = $1 AND variant_id = $2");
        cmd.Parameters.AddWithValue(storeId);
        cmd.Parameters.AddWithValue(_variant);
        return (decimal?)await cmd.ExecuteScalarAsync();
    }
}
