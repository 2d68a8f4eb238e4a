using JowiShop.DemoData;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Persistence;
using JowiShop.Grains.Sales;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Database;

/// <summary>
/// Since migration 0015 the database derives sale movements (from receipt lines) and batch
/// remainders (from levels and the FIFO sequence). A long random sequence of sales, receivings,
/// adjustments and refunds, prepared by StoreBatch and committed by the LedgerWriter as the store
/// grain does, must leave views that say exactly what the store's memory says, and a reload
/// (the grain's query) must give back the same batches in the same FIFO order.
/// </summary>
public sealed class DerivedLedgerTests : IAsyncLifetime
{
    private NpgsqlDataSource _db = null!;

    public async Task InitializeAsync()
    {
        var connectionString = await LocalServices.CreateDatabaseAsync("derived");
        DatabaseMigrator.Apply(connectionString);
        await DemoDataSet.SeedAsync(connectionString, new DemoDataOptions { SecondTenant = false });
        _db = NpgsqlDataSource.Create(connectionString);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Derived_movements_and_remainders_equal_the_stores_memory_over_a_long_random_sequence()
    {
        var store = DemoTenant.CentralStoreId;
        var random = new Random(12);
        var variants = await ListAsync<Guid>("SELECT id FROM product_variants WHERE tenant_id = $1 ORDER BY id LIMIT 4", DemoTenant.TenantId);
        var position = await PositionAsync(store);
        var stock = await LoadStockAsync(store, variants);
        var ledger = new LedgerWriter(_db);
        var sales = new List<Receipt>();
        var refunded = new Dictionary<Guid, Dictionary<Guid, decimal>>();
        var expectedSaleMovements = new List<(Guid Receipt, Guid Variant, decimal Quantity, decimal? UnitCost)>();
        var now = DateTimeOffset.UtcNow;

        for (var commit = 0; commit < 120; commit++)
        {
            var batch = new StoreBatch(store, position, stock.GetValueOrDefault);
            for (var op = random.Next(1, 4); op > 0; op--)
            {
                var variant = variants[random.Next(variants.Count)];
                var quantity = random.Next(3) == 0 ? random.Next(1, 20_000) / 1000m : random.Next(1, 60);
                switch (random.Next(6))
                {
                    case 0 or 1 or 2:
                        var lines = Enumerable.Range(0, random.Next(1, 4))
                            .Select(_ => new SaleLine(variants[random.Next(variants.Count)], quantity, 1000m, 0m, 7m)).ToList();
                        var sale = new SaleCommand(Guid.NewGuid(), DemoTenant.CentralTerminalId, DemoTenant.OwnerUserId, null, lines,
                            [new Payment(PaymentMethod.Cash, lines.Sum(l => ReceiptMath.Line(l.Quantity, l.UnitPrice, l.Discount).Total))], null, [1]);
                        Assert.Null(batch.Sell(sale, now, DateOnly.FromDateTime(now.UtcDateTime), refuseNegativeStock: false));
                        var receipt = batch.Receipts[^1].Receipt;
                        expectedSaleMovements.AddRange(receipt.Items.Select(i => (receipt.Id, i.VariantId, -i.Quantity, (decimal?)decimal.Round(i.CostOfGoods / i.Quantity, 4))));
                        break;
                    case 3:
                        batch.Take(variant, quantity, 7m, "adjustment", null, "test", now);
                        break;
                    case 4:
                        batch.Put(variant, quantity, random.Next(0, 100_000) / 100m, "receiving", "receiving", null, null, now);
                        break;
                    default:
                        if (sales.Count == 0)
                            break;
                        var original = sales[random.Next(sales.Count)];
                        var before = refunded.GetValueOrDefault(original.Id) ?? [];
                        var line = original.Items[random.Next(original.Items.Count)];
                        var left = original.Items.Where(i => i.VariantId == line.VariantId).Sum(i => i.Quantity) - before.GetValueOrDefault(line.VariantId);
                        if (left <= 0)
                            break;
                        var back = Math.Min(left, 1m);
                        var (refund, refusal) = batch.Refund(new RefundCommand(Guid.NewGuid(), original.Id, DemoTenant.CentralTerminalId,
                            DemoTenant.OwnerUserId, [new RefundLine(line.VariantId, back)], [], [2]), original, before, now, DateOnly.FromDateTime(now.UtcDateTime));
                        Assert.Null(refusal);
                        Assert.NotNull(refund);
                        before[line.VariantId] = before.GetValueOrDefault(line.VariantId) + back;
                        refunded[original.Id] = before;
                        break;
                }
            }

            await ledger.CommitAsync(batch.ToCommit(DemoTenant.TenantId));
            // Committed: memory follows (StoreGrain.Apply).
            position = batch.To;
            sales.AddRange(batch.Receipts.Select(r => r.Receipt).Where(r => r.Kind == ReceiptKind.Sale));
            foreach (var (variant, state) in batch.Stock)
            {
                state.Batches.RemoveAll(b => b.Remaining == 0);
                stock[variant] = state;
            }
        }

        // Every lot's derived remainder is what memory has (exhausted lots are gone from memory: 0).
        await using (var cmd = _db.CreateCommand("SELECT variant_id, fifo_seq, remaining_qty FROM stock_batches WHERE tenant_id = $1 AND store_id = $2 AND variant_id = ANY($3)"))
        {
            Sql.Add(cmd.Parameters, DemoTenant.TenantId, store, variants.ToArray());
            await using var reader = await cmd.ExecuteReaderAsync();
            var lots = 0;
            while (await reader.ReadAsync())
            {
                lots++;
                var (variant, seq, remaining) = (reader.GetGuid(0), reader.GetInt64(1), reader.GetDecimal(2));
                var inMemory = stock[variant].Batches.SingleOrDefault(b => b.Seq == seq)?.Remaining ?? 0m;
                Assert.True(inMemory == remaining, $"variant {variant} lot {seq}: {remaining} derived, {inMemory} in memory");
            }
            Assert.True(lots > variants.Count);
        }

        // The derived sale movements are the ones StoreBatch.Take costed (unit cost rounded as there).
        var derived = new List<(Guid Receipt, Guid Variant, decimal Quantity, decimal? UnitCost)>();
        await using (var cmd = _db.CreateCommand("SELECT receipt_id, variant_id, quantity, unit_cost FROM stock_movements WHERE tenant_id = $1 AND store_id = $2 AND kind = 'sale'"))
        {
            Sql.Add(cmd.Parameters, DemoTenant.TenantId, store);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                derived.Add((reader.GetGuid(0), reader.GetGuid(1), reader.GetDecimal(2), reader.IsDBNull(3) ? null : reader.GetDecimal(3)));
        }
        Assert.Equal(expectedSaleMovements.Order(), derived.Order());

        // Levels: as in memory, and each the sum of its movements.
        foreach (var variant in variants)
        {
            Assert.Equal(stock[variant].Quantity, await ScalarAsync<decimal>(
                "SELECT quantity FROM stock_levels WHERE tenant_id = $1 AND store_id = $2 AND variant_id = $3", DemoTenant.TenantId, store, variant));
            Assert.Equal(stock[variant].Quantity, await ScalarAsync<decimal>(
                "SELECT sum(quantity) FROM stock_movements WHERE tenant_id = $1 AND store_id = $2 AND variant_id = $3", DemoTenant.TenantId, store, variant));
        }

        // A reload gives back the same open batches in the same FIFO order, and the same next sequence.
        var reloaded = await LoadStockAsync(store, variants);
        foreach (var variant in variants)
            Assert.Equal(stock[variant].Batches.Select(b => (b.Id, b.Seq, b.Remaining, b.UnitCost)), reloaded[variant].Batches.Select(b => (b.Id, b.Seq, b.Remaining, b.UnitCost)));
        Assert.Equal(position.BatchSeq, (await PositionAsync(store)).BatchSeq);
    }

    [Fact]
    public async Task The_sale_movements_unit_cost_rounds_as_StoreBatch_does_half_to_even()
    {
        var random = new Random(3);
        var pairs = new List<(decimal Cost, decimal Quantity)> { (0.0001m, 2m), (0.0003m, 2m), (0.0005m, 2m), (1m, 3m), (2.5m, 0.004m), (0.0001m, 0.002m) };
        for (var i = 0; i < 500; i++)
            pairs.Add((random.Next(0, 10_000_000) / 10_000m, random.Next(1, 100_000) / 1000m));
        await using var cmd = _db.CreateCommand("SELECT ledger_unit_cost(c, q) FROM unnest($1::numeric[], $2::numeric[]) WITH ORDINALITY AS x(c, q, n) ORDER BY n");
        Sql.Add(cmd.Parameters, pairs.Select(p => p.Cost).ToArray(), pairs.Select(p => p.Quantity).ToArray());
        await using var reader = await cmd.ExecuteReaderAsync();
        foreach (var (cost, quantity) in pairs)
        {
            Assert.True(await reader.ReadAsync());
            Assert.True(decimal.Round(cost / quantity, 4) == reader.GetDecimal(0), $"{cost} / {quantity}: C# {decimal.Round(cost / quantity, 4)}, SQL {reader.GetDecimal(0)}");
        }
    }

    /// <summary>The store's fence row and the highest FIFO sequence, as StoreGrain.LoadStoreAsync reads them.</summary>
    private async Task<LedgerPosition> PositionAsync(Guid store)
    {
        await using var cmd = _db.CreateCommand(
            """
            SELECT commit_version, receipt_seq, refund_seq, commit_token, (SELECT COALESCE(max(fifo_seq), 0) FROM stock_lots WHERE store_id = $1)
            FROM store_fences WHERE store_id = $1
            """);
        Sql.Add(cmd.Parameters, store);
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return new LedgerPosition(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetGuid(3), reader.GetInt64(4));
    }

    /// <summary>Levels and open batches, as StoreGrain.LoadStockAsync reads them.</summary>
    private async Task<Dictionary<Guid, StockState>> LoadStockAsync(Guid store, List<Guid> variants)
    {
        var loaded = variants.ToDictionary(v => v, _ => new StockState());
        await using (var cmd = _db.CreateCommand("SELECT variant_id, quantity, last_unit_cost FROM stock_levels WHERE tenant_id = $1 AND store_id = $2 AND variant_id = ANY($3)"))
        {
            Sql.Add(cmd.Parameters, DemoTenant.TenantId, store, variants.ToArray());
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var state = loaded[reader.GetGuid(0)];
                state.Quantity = reader.GetDecimal(1);
                state.Stored = true;
                state.LastUnitCost = reader.IsDBNull(2) ? null : reader.GetDecimal(2);
            }
        }
        await using (var cmd = _db.CreateCommand(
            """
            SELECT variant_id, id, remaining_qty, unit_cost, fifo_seq FROM stock_batches
            WHERE tenant_id = $1 AND store_id = $2 AND variant_id = ANY($3) AND remaining_qty > 0
            ORDER BY variant_id, fifo_seq
            """))
        {
            Sql.Add(cmd.Parameters, DemoTenant.TenantId, store, variants.ToArray());
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                loaded[reader.GetGuid(0)].Batches.Add(new StockBatch(reader.GetGuid(1), reader.GetDecimal(3), reader.GetInt64(4)) { Remaining = reader.GetDecimal(2) });
        }
        return loaded;
    }

    private async Task<List<T>> ListAsync<T>(string sql, params object[] values)
    {
        await using var cmd = _db.CreateCommand(sql);
        Sql.Add(cmd.Parameters, values);
        var result = new List<T>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            result.Add(reader.GetFieldValue<T>(0));
        return result;
    }

    private async Task<T> ScalarAsync<T>(string sql, params object[] values)
    {
        await using var cmd = _db.CreateCommand(sql);
        Sql.Add(cmd.Parameters, values);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
