using JowiShop.DemoData;
using JowiShop.Grains.Persistence;
using JowiShop.Grains.Sales;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Database;

/// <summary>
/// The ledger writer puts the commits waiting at one moment, of any stores, into one transaction.
/// Each test holds the first commit behind a lock on its store's fence row, so the next ones are
/// sure to wait: written together (one transaction in flight) or sent behind it (two).
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
        var ledger = new LedgerWriter(_db, lanes: 1, transactionsInFlight: 1);
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
        var ledger = new LedgerWriter(_db, lanes: 1, transactionsInFlight: 1);
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
        var ledger = new LedgerWriter(_db, lanes: 1, transactionsInFlight: 1);
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

    [Fact]
    public async Task A_stores_next_commit_is_sent_while_the_one_before_commits_and_lands_after_it()
    {
        var ledger = new LedgerWriter(_db, lanes: 1, transactionsInFlight: 2);
        var central = await StoreRowAsync(DemoTenant.CentralStoreId);
        var first = From(central);
        var (held, release) = await HeldBehindRowLockAsync(ledger, Commit(DemoTenant.CentralStoreId, first, level: 5m));
        var second = Next(first);
        var next = ledger.CommitAsync(Commit(DemoTenant.CentralStoreId, second, level: 4m));
        // The second transaction is in PostgreSQL too, waiting on the same fence row.
        await UntilAsync(async () => await BackendsWaitingOnLockAsync() >= 2, "the second commit was not sent while the first was in flight");
        Assert.False(next.IsCompleted);
        await release();

        await Task.WhenAll(held, next);
        Assert.Equal(central with { Version = central.Version + 2, Token = second.Token }, await StoreRowAsync(DemoTenant.CentralStoreId));
        Assert.Equal(4m, await LevelAsync(DemoTenant.CentralStoreId));
    }

    [Fact]
    public async Task A_commit_sent_behind_one_that_rolls_back_is_refused_and_another_stores_commit_still_lands()
    {
        var ledger = new LedgerWriter(_db, lanes: 1, transactionsInFlight: 2);
        var central = await StoreRowAsync(DemoTenant.CentralStoreId);
        var chilanzar = await StoreRowAsync(DemoTenant.ChilanzarStoreId);
        // Stale, so it rolls back once the row is free: as if another activation had committed.
        var stale = From(central) with { Version = central.Version + 3 };
        var (held, release) = await HeldBehindRowLockAsync(ledger, Commit(DemoTenant.CentralStoreId, stale, level: 99m));
        var behind = ledger.CommitAsync(Commit(DemoTenant.CentralStoreId, Next(stale), level: 98m));
        var other = ledger.CommitAsync(Commit(DemoTenant.ChilanzarStoreId, From(chilanzar), level: 12m));
        await UntilAsync(async () => await BackendsWaitingOnLockAsync() >= 2, "the commits behind were not sent while the first was in flight");
        await release();

        Assert.Equal("JW001", (await Assert.ThrowsAsync<PostgresException>(() => held)).SqlState);
        Assert.Equal("JW001", (await Assert.ThrowsAsync<PostgresException>(() => behind)).SqlState);
        await other;
        Assert.Equal(central, await StoreRowAsync(DemoTenant.CentralStoreId));
        Assert.Equal(12m, await LevelAsync(DemoTenant.ChilanzarStoreId));
    }

    [Fact]
    public async Task The_fence_locks_its_stores_in_one_order_whatever_order_a_transaction_lists_them()
    {
        // Two transactions locking the same fence rows in different orders could deadlock. Hold
        // the later row (in PostgreSQL's uuid order) and list it first: the fence must have locked
        // the earlier row already while it waits for the later one.
        await using var order = _db.CreateCommand("SELECT store_id FROM store_fences WHERE store_id = ANY($1) ORDER BY store_id");
        order.Parameters.AddWithValue(new[] { DemoTenant.CentralStoreId, DemoTenant.ChilanzarStoreId });
        var sorted = new List<Guid>();
        await using (var reader = await order.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                sorted.Add(reader.GetGuid(0));
        var (earlier, later) = (sorted[0], sorted[1]);
        var (rowEarlier, rowLater) = (await StoreRowAsync(earlier), await StoreRowAsync(later));

        var holder = await _db.OpenConnectionAsync();
        var held = await holder.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM store_fences WHERE store_id = $1 FOR UPDATE", holder, held))
        {
            lockRow.Parameters.AddWithValue(later);
            await lockRow.ExecuteNonQueryAsync();
        }
        var transaction = Task.Run(async () =>
        {
            await using var connection = await _db.OpenConnectionAsync();
            await using var batch = new NpgsqlBatch(connection);
            LedgerStatements.Add(batch, [Commit(later, From(rowLater), 3m), Commit(earlier, From(rowEarlier), 3m)]);
            await batch.ExecuteNonQueryAsync();
        });
        await UntilAsync(async () => await BackendsWaitingOnLockAsync() >= 1, "the transaction never waited for the held row");

        await using (var probe = await _db.OpenConnectionAsync())
        await using (var probeTransaction = await probe.BeginTransactionAsync())
        await using (var tryLock = new NpgsqlCommand("SELECT 1 FROM store_fences WHERE store_id = $1 FOR UPDATE NOWAIT", probe, probeTransaction))
        {
            tryLock.Parameters.AddWithValue(earlier);
            Assert.Equal(PostgresErrorCodes.LockNotAvailable, (await Assert.ThrowsAsync<PostgresException>(() => tryLock.ExecuteNonQueryAsync())).SqlState);
        }
        await held.RollbackAsync();
        await holder.DisposeAsync();
        await transaction;
        Assert.Equal(rowEarlier.Version + 1, (await StoreRowAsync(earlier)).Version);
        Assert.Equal(rowLater.Version + 1, (await StoreRowAsync(later)).Version);
    }

    [Fact]
    public async Task A_level_update_that_finds_no_row_refuses_the_commit_instead_of_losing_the_change()
    {
        // A store with no stock at all: the grain claiming a level row exists there is wrong.
        var storeId = Guid.CreateVersion7();
        await using (var create = _db.CreateCommand("INSERT INTO stores (id, tenant_id, name) VALUES ($1, $2, 'Empty')"))
        {
            create.Parameters.AddWithValue(storeId);
            create.Parameters.AddWithValue(DemoTenant.TenantId);
            await create.ExecuteNonQueryAsync();
        }
        var row = await StoreRowAsync(storeId);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => new LedgerWriter(_db).CommitAsync(Commit(storeId, From(row), level: 5m)));

        Assert.Equal("JW003", refused.SqlState);
        Assert.Equal(row, await StoreRowAsync(storeId));
        Assert.Null(await LevelAsync(storeId));
    }

    [Fact]
    public async Task A_transaction_chosen_as_a_deadlock_victim_is_sent_again_and_commits()
    {
        await using (var inject = _db.CreateCommand(
            """
            CREATE SEQUENCE test_deadlock_attempts;
            CREATE FUNCTION test_deadlock_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                -- A sequence, not a row: its advance survives the rollback.
                IF nextval('test_deadlock_attempts') = 1 THEN
                    RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_deadlock_once BEFORE INSERT OR UPDATE ON stock_levels FOR EACH ROW EXECUTE FUNCTION test_deadlock_once();
            """))
            await inject.ExecuteNonQueryAsync();
        try
        {
            var central = await StoreRowAsync(DemoTenant.CentralStoreId);
            var commit = From(central);
            await new LedgerWriter(_db).CommitAsync(Commit(DemoTenant.CentralStoreId, commit, level: 42m));
            Assert.Equal(central with { Version = central.Version + 1, Token = commit.Token }, await StoreRowAsync(DemoTenant.CentralStoreId));
            Assert.Equal(42m, await LevelAsync(DemoTenant.CentralStoreId));
        }
        finally
        {
            await using var drop = _db.CreateCommand("DROP TRIGGER test_deadlock_once ON stock_levels; DROP FUNCTION test_deadlock_once(); DROP SEQUENCE test_deadlock_attempts");
            await drop.ExecuteNonQueryAsync();
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string failure)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, failure);
            await Task.Delay(20);
        }
    }

    /// <summary>Submits a commit while another connection holds its store's row, and waits until the writer is blocked on it.</summary>
    private async Task<(Task Commit, Func<Task> Release)> HeldBehindRowLockAsync(LedgerWriter ledger, StoreCommit commit)
    {
        var holder = await _db.OpenConnectionAsync();
        var transaction = await holder.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM store_fences WHERE store_id = $1 FOR UPDATE", holder, transaction))
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

    private async Task<bool> WriterWaitsOnLockAsync() => await BackendsWaitingOnLockAsync() > 0;

    private async Task<long> BackendsWaitingOnLockAsync()
    {
        await using var cmd = _db.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%advance_store_fences%'");
        return (long)(await cmd.ExecuteScalarAsync())!;
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
        await using var cmd = _db.CreateCommand("SELECT commit_version, receipt_seq, refund_seq, commit_token FROM store_fences WHERE store_id = $1");
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
