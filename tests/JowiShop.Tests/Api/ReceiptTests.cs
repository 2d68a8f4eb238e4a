using System.Net;
using System.Net.Http.Json;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace JowiShop.Tests.Api;

public sealed class ReceiptTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task A_thousand_concurrent_receipts_in_two_stores_are_all_committed_and_numbered_gaplessly()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2, products: 4);
        const int perStore = 500;
        var sales = shop.StoreIds.SelectMany(s => Enumerable.Range(0, perStore).Select(_ => s)).ToArray();
        using var gate = new SemaphoreSlim(64); // many tills at once
        var responses = await Task.WhenAll(sales.Select(async storeId =>
        {
            await gate.WaitAsync();
            try
            {
                var response = await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId));
                return (storeId, Status: response.StatusCode, Receipt: response.StatusCode == HttpStatusCode.Created
                    ? await response.Content.ReadFromJsonAsync<Receipt>(ProblemAssertions.JsonOptions) : null,
                    Body: await response.Content.ReadAsStringAsync());
            }
            finally
            {
                gate.Release();
            }
        }));

        Assert.All(responses, r => Assert.True(r.Status == HttpStatusCode.Created, $"{(int)r.Status}: {r.Body}"));
        foreach (var storeId in shop.StoreIds)
        {
            var acknowledged = responses.Where(r => r.storeId == storeId).Select(r => r.Receipt!).ToArray();
            Assert.Equal(Enumerable.Range(1, perStore).Select(i => (long)i), acknowledged.Select(r => r.SequenceNo).Order());
            Assert.Equal(perStore, acknowledged.Select(r => r.ReceiptNumber).Distinct().Count());
            Assert.Equal(Enumerable.Range(1, perStore).Select(i => (long)i), await shop.SequenceNumbersAsync(storeId));
        }
        Assert.Equal(2L * perStore, await shop.ScalarAsync<long>("SELECT count(*) FROM receipts WHERE tenant_id = $1", shop.TenantId));
        Assert.Empty(await shop.ConservationViolationsAsync());
        // Each variant sold once per receipt that held it: 1000 - 500 per store for the two variants sold.
        Assert.Equal(500m, await shop.ScalarAsync<decimal>(
            "SELECT quantity FROM stock_levels WHERE tenant_id = $1 AND store_id = $2 AND variant_id = $3",
            shop.TenantId, shop.StoreIds[0], shop.VariantIds.First()));
    }

    [Fact]
    public async Task A_receipt_answers_numbers_totals_change_and_cost_of_goods()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 2);
        var storeId = shop.StoreIds[0];
        var variants = shop.Products.Select(p => p.Variants[0]).ToArray();
        // Half a unit sells only by weight: the second product is weighed.
        (await shop.Owner.PatchAsJsonAsync($"/api/v1/products/{shop.Products[1].Id}/variants/{variants[1].Id}", new { unit = "kg" }))
            .EnsureSuccessStatusCode();
        var response = await shop.Owner.PostAsJsonAsync("/api/v1/receipts", new
        {
            storeId,
            terminalId = shop.TerminalByStore[storeId],
            items = new object[]
            {
                new { variantId = variants[0].Id, quantity = 2m, discount = 150m },
                new { variantId = variants[1].Id, quantity = 0.5m },
            },
            payments = new object[] { new { method = "card", amount = 1000m }, new { method = "cash", amount = 5000m } },
        });
        var receipt = await response.ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal($"/api/v1/receipts/{receipt.Id}", response.Headers.Location?.ToString());
        Assert.Matches(@"^R-\d{8}-0001$", receipt.ReceiptNumber);
        Assert.Equal(2000m + 1000m, receipt.Subtotal); // 2 x 1000 + 0.5 x 2000
        Assert.Equal(150m, receipt.DiscountTotal);
        Assert.Equal(2850m, receipt.Total);
        Assert.Equal(6000m - 2850m, receipt.Change);
        Assert.Equal(1850m, receipt.Items[0].LineTotal);
        Assert.Equal(200m, receipt.Items[0].CostOfGoods); // 2 x 100 from the opening batch
        Assert.Equal(50m, receipt.Items[1].CostOfGoods);
        var tashkent = TimeZoneInfo.FindSystemTimeZoneById("Asia/Tashkent");
        Assert.Equal(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(receipt.CreatedAt, tashkent).DateTime), receipt.BusinessDate);
        Assert.Equal(receipt.BusinessDate.ToString("yyyyMMdd"), receipt.ReceiptNumber[2..10]);

        var read = await (await shop.Owner.GetAsync($"/api/v1/receipts/{receipt.Id}")).ReadAsync<Receipt>();
        Assert.Equal(receipt.ReceiptNumber, read.ReceiptNumber);
        Assert.Equal(receipt.Items.Count, read.Items.Count);
        Assert.Equal(receipt.Payments, read.Payments);
    }

    [Fact]
    public async Task A_sale_spanning_two_batches_costs_the_fifo_mix()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1, openingStock: 0);
        var storeId = shop.StoreIds[0];
        var variantId = shop.VariantIds.Single();
        await shop.ReceiveAsync(storeId, variantId, 5m, 100m, DateTimeOffset.UtcNow.AddDays(-2));
        await shop.ReceiveAsync(storeId, variantId, 10m, 200m, DateTimeOffset.UtcNow.AddDays(-1));

        var first = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, lines: 1, quantity: 8m))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(5 * 100m + 3 * 200m, first.Items[0].CostOfGoods);

        // 7 left at 200; selling 9 goes 2 below zero, costed at the last known cost (200).
        var second = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, lines: 1, quantity: 9m))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(9 * 200m, second.Items[0].CostOfGoods);
        Assert.Equal(-2m, await shop.ScalarAsync<decimal>("SELECT quantity FROM stock_levels WHERE store_id = $1 AND variant_id = $2", storeId, variantId));
        Assert.Empty(await shop.ConservationViolationsAsync());
    }

    [Fact]
    public async Task Replays_answer_the_original_and_another_body_is_409()
    {
        var shop = await TestShop.CreateAsync(api.Factory);
        var storeId = shop.StoreIds[0];
        var id = Guid.NewGuid();
        var sale = shop.Sale(storeId, id);
        var original = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", sale)).ReadAsync<Receipt>(HttpStatusCode.Created);
        var replay = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", sale)).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(original.ReceiptNumber, replay.ReceiptNumber);
        Assert.Equal(original.CreatedAt, replay.CreatedAt);

        await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, id, quantity: 2m)))
            .AssertProblemAsync(HttpStatusCode.Conflict, "receipt.id_conflict");

        // Concurrent duplicates of a new id make one receipt.
        var twinId = Guid.NewGuid();
        var twins = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, twinId))));
        var numbers = new HashSet<string>();
        foreach (var twin in twins)
            numbers.Add((await twin.ReadAsync<Receipt>(HttpStatusCode.Created)).ReceiptNumber);
        Assert.Single(numbers);
        Assert.Equal(2L, await shop.ScalarAsync<long>("SELECT count(*) FROM receipts WHERE tenant_id = $1", shop.TenantId));
        Assert.Equal(new long[] { 1, 2 }, await shop.SequenceNumbersAsync(storeId));
    }

    [Fact]
    public async Task Numbering_and_stock_continue_exactly_across_store_grain_reactivation_and_old_ids_replay_from_the_database()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var storeId = shop.StoreIds[0];
        var firstId = Guid.NewGuid();
        await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, firstId, lines: 1, quantity: 3m))).ReadAsync<Receipt>(HttpStatusCode.Created);

        // Deactivate every idle grain in the co-hosted silo: the store grain reloads from PostgreSQL.
        var management = api.Factory.Services.GetRequiredService<IGrainFactory>().GetGrain<Orleans.Runtime.IManagementGrain>(0);
        await management.ForceActivationCollection(TimeSpan.Zero);

        var replay = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, firstId, lines: 1, quantity: 3m))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(1, replay.SequenceNo);
        var next = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, lines: 1, quantity: 4m))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(2, next.SequenceNo);
        Assert.Equal(993m, await shop.ScalarAsync<decimal>("SELECT quantity FROM stock_levels WHERE store_id = $1 AND variant_id = $2", storeId, shop.VariantIds.Single()));
        Assert.Empty(await shop.ConservationViolationsAsync());
    }

    [Fact]
    public async Task A_failed_commit_fails_its_whole_batch_with_503_and_consumes_no_number()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 2);
        var storeId = shop.StoreIds[0];
        await InjectCommitFailureAsync(shop);

        (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId))).EnsureSuccessStatusCode();
        var sales = Enumerable.Range(0, 60).Select(i => (Id: Guid.NewGuid(), Poisoned: i % 20 == 7)).ToArray();
        var responses = await Task.WhenAll(sales.Select(async s =>
        {
            var response = await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, s.Id, note: s.Poisoned ? "FAIL-COMMIT" : null));
            return (s.Id, s.Poisoned, response.StatusCode, RetryAfter: response.Headers.RetryAfter, Body: await response.Content.ReadAsStringAsync());
        }));

        Assert.All(responses.Where(r => r.Poisoned), r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable, r.Body));
        Assert.All(responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable), r => Assert.NotNull(r.RetryAfter));
        var committed = responses.Count(r => r.StatusCode == HttpStatusCode.Created);
        Assert.Equal(Enumerable.Range(1, committed + 1).Select(i => (long)i), await shop.SequenceNumbersAsync(storeId));
        foreach (var failed in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
            Assert.Equal(0L, await shop.ScalarAsync<long>("SELECT count(*) FROM receipts WHERE id = $1", failed.Id));

        // The next receipt takes the next number, and stock matches what was committed.
        var next = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(committed + 2, next.SequenceNo);
        Assert.Empty(await shop.ConservationViolationsAsync());
        // Retrying a failed id (without the poison) now succeeds.
        var retried = responses.First(r => r.StatusCode != HttpStatusCode.Created);
        (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, retried.Id))).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Failed_commits_in_one_store_leave_another_stores_sales_untouched_and_both_gapless()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2, products: 2);
        var (failing, healthy) = (shop.StoreIds[0], shop.StoreIds[1]);
        await InjectCommitFailureAsync(shop);

        // Both stores active first, then waves of sales at both, some of one store's failing. Whether
        // the two stores' batches share a transaction here depends on timing (LedgerWriterTests
        // force it); this checks the pipeline end to end: resold sales, numbering, stock.
        foreach (var store in shop.StoreIds)
            (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(store))).EnsureSuccessStatusCode();
        var responses = new List<(Guid Id, Guid Store, bool Poisoned, HttpStatusCode StatusCode, string Body)>();
        for (var wave = 0; wave < 8; wave++)
        {
            var sales = Enumerable.Range(0, 40)
                .Select(i => (Id: Guid.NewGuid(), Store: i % 2 == 0 ? failing : healthy, Poisoned: i % 8 == 0)).ToArray();
            responses.AddRange(await Task.WhenAll(sales.Select(async s =>
            {
                var response = await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(s.Store, s.Id, note: s.Poisoned ? "FAIL-COMMIT" : null));
                return (s.Id, s.Store, s.Poisoned, response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            })));
        }

        Assert.All(responses.Where(r => r.Store == healthy), r => Assert.True(r.StatusCode == HttpStatusCode.Created, r.Body));
        Assert.All(responses.Where(r => r.Poisoned), r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable, r.Body));
        foreach (var store in shop.StoreIds)
        {
            var committed = 1 + responses.Count(r => r.Store == store && r.StatusCode == HttpStatusCode.Created);
            Assert.Equal(Enumerable.Range(1, committed).Select(i => (long)i), await shop.SequenceNumbersAsync(store));
        }
        foreach (var failed in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
            Assert.Equal(0L, await shop.ScalarAsync<long>("SELECT count(*) FROM receipts WHERE id = $1", failed.Id));
        Assert.Empty(await shop.ConservationViolationsAsync());
    }

    /// <summary>Any receipt with the note FAIL-COMMIT aborts the transaction it is in.</summary>
    private static async Task InjectCommitFailureAsync(TestShop shop)
    {
        await using var db = Npgsql.NpgsqlDataSource.Create(shop.PostgresConnectionString);
        await TestShop.ExecuteAsync(db,
            """
            CREATE OR REPLACE FUNCTION test_fail_commit() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN IF NEW.note = 'FAIL-COMMIT' THEN RAISE EXCEPTION 'injected commit failure'; END IF; RETURN NEW; END $$;
            CREATE OR REPLACE TRIGGER test_fail_commit BEFORE INSERT ON receipts FOR EACH ROW EXECUTE FUNCTION test_fail_commit();
            """);
    }

    [Fact]
    public async Task Client_mistakes_are_4xx_naming_the_problem_and_write_nothing()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2, products: 2);
        var (store, otherStore) = (shop.StoreIds[0], shop.StoreIds[1]);
        var terminal = shop.TerminalByStore[store];
        var variant = shop.VariantIds.First();
        object Body(object? items = null, object? payments = null, Guid? storeId = null, Guid? terminalId = null) => new
        {
            storeId = storeId ?? store,
            terminalId = terminalId ?? terminal,
            items = items ?? new[] { new { variantId = variant, quantity = 1m } },
            payments = payments ?? new[] { new { method = "cash", amount = 1000m } },
        };

        async Task Expect(object body, HttpStatusCode status, string code, string? field = null)
        {
            var problem = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", body)).AssertProblemAsync(status, code);
            if (field is not null)
                Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
        }

        await Expect(Body(storeId: Guid.NewGuid()), HttpStatusCode.NotFound, "store.not_found");
        await Expect(Body(terminalId: shop.TerminalByStore[otherStore]), HttpStatusCode.BadRequest, "validation.failed", "terminalId");
        await Expect(Body(items: new[] { new { variantId = Guid.NewGuid(), quantity = 1m } }), HttpStatusCode.BadRequest, "validation.failed", "items[0].variantId");
        await Expect(Body(items: new[] { new { variantId = variant, quantity = 0m } }), HttpStatusCode.BadRequest, "validation.failed", "items[0].quantity");
        await Expect(Body(items: new[] { new { variantId = variant, quantity = 10_001m } }), HttpStatusCode.BadRequest, "validation.failed", "items[0].quantity");
        await Expect(Body(items: Enumerable.Range(0, 501).Select(_ => new { variantId = variant, quantity = 1m }).ToArray()),
            HttpStatusCode.BadRequest, "validation.failed", "items");
        await Expect(Body(payments: new[] { new { method = "cash", amount = 999m } }), HttpStatusCode.BadRequest, "validation.failed", "payments");
        await Expect(Body(payments: new[] { new { method = "card", amount = 1500m } }), HttpStatusCode.BadRequest, "validation.failed", "payments");
        await Expect(Body(payments: new[] { new { method = "cash", amount = 1000.001m } }), HttpStatusCode.BadRequest, "validation.failed", "payments[0].amount");
        await Expect(Body(payments: new[] { new { method = "cheque", amount = 1000m } }), HttpStatusCode.BadRequest, "request.malformed");
        await Expect(Body(payments: Enumerable.Range(0, 3).Select(_ => new { method = "cash", amount = 999_999_999_999.99m }).ToArray()),
            HttpStatusCode.BadRequest, "validation.failed", "payments");

        // Another tenant's store is as unknown as a missing one.
        var (stranger, _) = await api.Factory.RegisterAsync();
        await (await stranger.PostAsJsonAsync("/api/v1/receipts", Body())).AssertProblemAsync(HttpStatusCode.NotFound, "store.not_found");

        Assert.Equal(0L, await shop.ScalarAsync<long>("SELECT count(*) FROM receipts WHERE tenant_id = $1", shop.TenantId));
        Assert.Equal(0L, await shop.ScalarAsync<long>("SELECT count(*) FROM stock_movements WHERE tenant_id = $1 AND kind = 'sale'", shop.TenantId));
    }

    [Fact]
    public async Task Cashiers_sell_at_catalog_prices_and_managers_may_override()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var storeId = shop.StoreIds[0];
        var variant = shop.VariantIds.Single();
        object Body(decimal? unitPrice) => new
        {
            storeId,
            terminalId = shop.TerminalByStore[storeId],
            items = new[] { new { variantId = variant, quantity = 1m, unitPrice } },
            payments = new[] { new { method = "cash", amount = 1000m } },
        };
        var cashier = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, "cashier");
        await (await cashier.PostAsJsonAsync("/api/v1/receipts", Body(500m))).AssertProblemAsync(HttpStatusCode.Forbidden, "receipt.price_override_forbidden");
        var sold = await (await cashier.PostAsJsonAsync("/api/v1/receipts", Body(null))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(1000m, sold.Items[0].UnitPrice);

        var manager = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, "manager");
        var overridden = await (await manager.PostAsJsonAsync("/api/v1/receipts", Body(500m))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(500m, overridden.Total);
        Assert.Equal(500m, overridden.Change);
    }

    [Fact]
    public async Task A_store_that_refuses_negative_stock_answers_409_and_writes_nothing()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1, openingStock: 2m);
        var storeId = shop.StoreIds[0];
        // The store's own setting, changed while its grain is active, applies to the very next sale.
        (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, lines: 1, quantity: 1m))).EnsureSuccessStatusCode();
        (await shop.Owner.PatchAsJsonAsync($"/api/v1/stores/{storeId}", new { allowNegativeStock = false })).EnsureSuccessStatusCode();

        var problem = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, lines: 1, quantity: 2m)))
            .AssertProblemAsync(HttpStatusCode.Conflict, "stock.insufficient");
        Assert.Equal(shop.VariantIds.Single().ToString(), problem.GetProperty("variantId").GetString());
        (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, lines: 1, quantity: 1m))).EnsureSuccessStatusCode();
        Assert.Equal(new long[] { 1, 2 }, await shop.SequenceNumbersAsync(storeId));

        // Back to the tenant's policy (allow): the till does not stop.
        (await shop.Owner.PatchAsJsonAsync($"/api/v1/stores/{storeId}", new { allowNegativeStock = (bool?)null })).EnsureSuccessStatusCode();
        (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeId, lines: 1, quantity: 5m))).EnsureSuccessStatusCode();
        Assert.Equal(-5m, await shop.ScalarAsync<decimal>("SELECT quantity FROM stock_levels WHERE store_id = $1 AND variant_id = $2", storeId, shop.VariantIds.Single()));
    }
}

public sealed class ReceiptIdAcrossTenantsTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Reusing_another_tenants_receipt_id_is_a_409_that_reveals_nothing_and_does_not_stall_the_store()
    {
        var alice = await TestShop.CreateAsync(api.Factory, products: 1);
        var bob = await TestShop.CreateAsync(api.Factory, products: 1);
        var id = Guid.NewGuid();
        var original = await (await alice.Owner.PostAsJsonAsync("/api/v1/receipts", alice.Sale(alice.StoreIds[0], id, lines: 1)))
            .ReadAsync<Receipt>(HttpStatusCode.Created);

        var problem = await (await bob.Owner.PostAsJsonAsync("/api/v1/receipts", bob.Sale(bob.StoreIds[0], id, lines: 1)))
            .AssertProblemAsync(HttpStatusCode.Conflict, "receipt.id_conflict");
        Assert.DoesNotContain(original.ReceiptNumber, problem.ToString());
        await (await bob.Owner.GetAsync($"/api/v1/receipts/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "receipt.not_found");

        // Bob's store keeps selling, numbering from 1.
        var next = await (await bob.Owner.PostAsJsonAsync("/api/v1/receipts", bob.Sale(bob.StoreIds[0], lines: 1))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(1, next.SequenceNo);
    }
}
