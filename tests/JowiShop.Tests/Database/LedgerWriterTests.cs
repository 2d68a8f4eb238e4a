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
        var central = await StoreRowAsync(DemoTenant.CentralStoreId);
        var chilanzar = await StoreRowAsync(DemoTenant.ChilanzarStoreId);

        var first = From(central);
        var (held, release) = await HeldBehindRowLockAsync(ledger, Commit(DemoTenant.CentralStoreId, first, level: 5m));
        // Stale: as if another activation of Chilanzar had committed meanwhile.
        var stale = ledger.CommitAsync(Commit(DemoTenant.ChilanzarStoreId, From(chilanzar) with { Version = chilanzar.Version - 1 }, level: 99m));
        var second = Next(first);
        var next = ledger.CommitAsync(Commit(DemoTenant.CentralStoreId, second, level: 4m));
        await release();

        await held;
        await next;
        var refused = await Assert.ThrowsAsync<PostgresException>(() => stale);
        Assert.Equal("JW001", refused.SqlState);
        Assert.Equal(central with { Version = central.Version + 2, Token = second.Token }, await StoreRowAsync(DemoTenant.CentralStoreId));
        Assert.Equal(chilanzar, await StoreRowAsync(DemoTenant.ChilanzarStoreId));
        Assert.Equal(4m, await LevelAsync(DemoTenant.CentralStoreId));
        Assert.NotEqual(99m, await LevelAsync(DemoTenant.ChilanzarStoreId));
    }

    [Fact]
    public async Task A_stores_consecutive_commits_in_one_transaction_move_its_fence_once_and_leave_the_last_level()
    {
        var ledger = new LedgerWriter(_db, lanes: 1);
        var central = await StoreRowAsync(DemoTenant.CentralStoreId);
        var chilanzar = await StoreRowAsync(DemoTenant.ChilanzarStoreId);

        var (held, release) = await HeldBehindRowLockAsync(ledger, Commit(DemoTenant.CentralStoreId, From(central), level: 5m));
        var one = From(chilanzar);
        var two = Next(one);
        var first = ledger.CommitAsync(Commit(DemoTenant.ChilanzarStoreId, one, level: 10m));
        var second = ledger.CommitAsync(Commit(DemoTenant.ChilanzarStoreId, two, level: 7m));
        await release();

        await Task.WhenAll(held, first, second);
        Assert.Equal(chilanzar with { Version = chilanzar.Version + 2, Token = two.Token }, await StoreRowAsync(DemoTenant.ChilanzarStoreId));
        Assert.Equal(7m, await LevelAsync(DemoTenant.ChilanzarStoreId));
    }

    [Fact]
    public async Task A_commit_continuing_from_one_that_never_landed_is_refused_even_where_version_and_numbers_match()
    {
        // Activation X numbered A1 and, before A1 committed, A2 after it. Activation Y (another
        // silo) committed once meanwhile, from the same row as A1, so A1 is refused and the row's
        // version and sequences are now exactly what A2 expects. A2 continues from A1, which never
        // happened: its stock would be built on changes that are not there.
        var row = await StoreRowAsync(DemoTenant.CentralStoreId);
        var a1 = From(row);
        var a2 = Next(a1);
        await new LedgerWriter(_db).CommitAsync(Commit(DemoTenant.CentralStoreId, From(row), level: 3m)); // Y

        var otherSilo = new LedgerWriter(_db);
        Assert.Equal("JW001", (await Assert.ThrowsAsync<PostgresException>(() => otherSilo.CommitAsync(Commit(DemoTenant.CentralStoreId, a1, level: 8m)))).SqlState);
        var late = await Assert.ThrowsAsync<PostgresException>(() => new LedgerWriter(_db).CommitAsync(Commit(DemoTenant.CentralStoreId, a2, level: 7m)));

        Assert.Equal("JW001", late.SqlState);
        Assert.Equal(3m, await LevelAsync(DemoTenant.CentralStoreId));
    }

    [Fact]
    public async Task Commits_queued_behind_a_refused_one_are_refused_and_other_stores_still_commit()
    {
        var ledger = new LedgerWriter(_db, lanes: 1);
        var central = await StoreRowAsync(DemoTenant.CentralStoreId);
        var chilanzar = await StoreRowAsync(DemoTenant.ChilanzarStoreId);

        var first = From(central);
        var (held, release) = await HeldBehindRowLockAsync(ledger, Commit(DemoTenant.CentralStoreId, first, level: 5m));
        var stale = From(chilanzar) with { Version = chilanzar.Version + 7 };
        var refused = ledger.CommitAsync(Commit(DemoTenant.ChilanzarStoreId, stale, level: 99m));
        var behind = ledger.CommitAsync(Commit(DemoTenant.ChilanzarStoreId, Next(stale), level: 98m));
        var after = ledger.CommitAsync(Commit(DemoTenant.CentralStoreId, Next(first), level: 6m));
        await release();

        await held;
        await after;
        Assert.Equal("JW001", (await Assert.ThrowsAsync<PostgresException>(() => refused)).SqlState);
        Assert.Equal("JW001", (await Assert.ThrowsAsync<PostgresException>(() => behind)).SqlState);
        Assert.Equal(chilanzar, await StoreRowAsync(DemoTenant.ChilanzarStoreId));
        Assert.Equal(6m, await LevelAsync(DemoTenant.CentralStoreId));
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
        new(DemoTenant.TenantId, storeId, fence, [], [], [], [], [new LevelWrite(_variant, level, 1.5m, IsNew: false)], []);

    /// <summary>The store row's fence state.</summary>
    private sealed record StoreRow(long Version, long ReceiptSeq, long RefundSeq, Guid? Token);

    /// <summary>A commit continuing from the row as it is (no receipts: only the version and token move).</summary>
    private static StoreFence From(StoreRow row) =>
        new(row.Version, row.ReceiptSeq, row.ReceiptSeq, row.RefundSeq, row.RefundSeq, row.Token, Guid.NewGuid());

    /// <summary>The commit after this one.</summary>
    private static StoreFence Next(StoreFence fence) =>
        fence with { Version = fence.Version + 1, PreviousReceiptSeq = fence.ReceiptSeq, PreviousRefundSeq = fence.RefundSeq, PreviousToken = fence.Token, Token = Guid.NewGuid() };

    private async Task<StoreRow> StoreRowAsync(Guid storeId)
    {
        await using var cmd = _db.CreateCommand("SELECT commit_version, receipt_seq, refund_seq, commit_token FROM stores WHERE id = $1");
        cmd.Parameters.AddWithValue(storeId);
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return new StoreRow(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetGuid(3));
    }

    private async Task<decimal?> LevelAsync(Guid storeId)
    {
        await using var cmd = _db.CreateCommand("SELECT quantity FROM stock_levels WHERE store_id = $1 AND variant_id = $2");
        cmd.Parameters.AddWithValue(storeId);
        cmd.Parameters.AddWithValue(_variant);
        return (decimal?)await cmd.ExecuteScalarAsync();
    }
}
