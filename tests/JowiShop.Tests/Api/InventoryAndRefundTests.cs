using System.Net;
using System.Net.Http.Json;
using JowiShop.ApiHost.Features.Receipts;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Tests.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Api;

public sealed class InventoryAndRefundTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static async Task<decimal> LevelAsync(TestShop shop, Guid storeId, Guid variantId)
    {
        var page = await (await shop.Owner.GetAsync($"/api/v1/stores/{storeId}/stock?variantId={variantId}")).ReadAsync<ListPage<StockLevelRow>>();
        return page.Items.Single().Quantity;
    }

    [Fact]
    public async Task Receivings_adjustments_and_transfers_move_stock_once_and_conserve_it()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2, products: 1, openingStock: 10m, unitCost: 100m);
        var (a, b) = (shop.StoreIds[0], shop.StoreIds[1]);
        var variant = shop.VariantIds.Single();

        var receivingId = Guid.NewGuid();
        var receiving = new { id = receivingId, storeId = a, lines = new[] { new { variantId = variant, quantity = 5m, unitCost = 150m } }, supplierReference = "INV-1" };
        var received = await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings", receiving)).ReadAsync<StockOperationResponse>(HttpStatusCode.Created);
        Assert.Equal(15m, received.Levels.Single().Quantity);
        var again = await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings", receiving)).ReadAsync<StockOperationResponse>();
        Assert.True(again.Replayed);
        Assert.Equal(15m, await LevelAsync(shop, a, variant));

        // Write off 2, then count 12 (a gain of -1 after the write-off: 13 -> 12).
        (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/adjustments", new { storeId = a, reason = "writeOff", lines = new[] { new { variantId = variant, delta = -2m } } }))
            .EnsureSuccessStatusCode();
        var counted = await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/adjustments",
            new { storeId = a, reason = "count", lines = new[] { new { variantId = variant, countedQuantity = 12m } }, note = "monthly count" }))
            .ReadAsync<StockOperationResponse>(HttpStatusCode.Created);
        Assert.Equal(12m, counted.Levels.Single().Quantity);

        // Transfer 11 to B: 7 left of the opening batch at 100 went first? FIFO: 10 @100 less 3 taken (2 + 1) = 7 @100, then 4 @150.
        var transferId = Guid.NewGuid();
        var transfer = new { id = transferId, fromStoreId = a, toStoreId = b, lines = new[] { new { variantId = variant, quantity = 11m } } };
        var moved = await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers", transfer)).ReadAsync<TransferResponse>(HttpStatusCode.Created);
        Assert.Equal(7 * 100m + 4 * 150m, moved.Lots.Sum(l => l.Quantity * l.UnitCost));
        Assert.Equal(1m, moved.FromLevels.Single().Quantity);
        Assert.Equal(21m, moved.ToLevels.Single().Quantity);
        var replayed = await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers", transfer)).ReadAsync<TransferResponse>();
        Assert.True(replayed.Replayed);
        Assert.Equal(1m, await LevelAsync(shop, a, variant));
        Assert.Equal(21m, await LevelAsync(shop, b, variant));

        // Selling in B takes its own opening batch first, then the transferred lots at their costs.
        var sold = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(b, lines: 1, quantity: 12m))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(10 * 100m + 2 * 100m, sold.Items[0].CostOfGoods);
        Assert.Empty(await shop.ConservationViolationsAsync());
    }

    [Fact]
    public async Task Inventory_mistakes_are_4xx_and_cashiers_may_not_move_stock()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var store = shop.StoreIds[0];
        var variant = shop.VariantIds.Single();
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings", new { storeId = store, lines = new[] { new { variantId = variant, quantity = 0m, unitCost = 1.001m } } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings", new { storeId = Guid.NewGuid(), lines = new[] { new { variantId = variant, quantity = 1m, unitCost = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.NotFound, "store.not_found");
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings", new { storeId = store, lines = new[] { new { variantId = Guid.NewGuid(), quantity = 1m, unitCost = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "variant.not_found");
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers", new { fromStoreId = store, toStoreId = store, lines = new[] { new { variantId = variant, quantity = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/adjustments", new { storeId = store, reason = "count", lines = new[] { new { variantId = variant, delta = 1m, countedQuantity = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        var cashier = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, "cashier");
        await (await cashier.PostAsJsonAsync("/api/v1/inventory/receivings", new { storeId = store, lines = new[] { new { variantId = variant, quantity = 1m, unitCost = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        Assert.Equal(1000m, await LevelAsync(shop, store, variant));
    }

    [Fact]
    public async Task Refunds_have_their_own_sequence_restock_at_cost_and_never_exceed_the_sale()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 2, openingStock: 10m, unitCost: 100m);
        var store = shop.StoreIds[0];
        var (v1, v2) = (shop.VariantIds.First(), shop.VariantIds.Last());
        var sale = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(store, lines: 2, quantity: 3m))).ReadAsync<Receipt>(HttpStatusCode.Created);

        var refundId = Guid.NewGuid();
        var body = new { id = refundId, items = new[] { new { variantId = v1, quantity = 2m } } };
        var refund = await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds", body)).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Matches(@"^RF-\d{8}-0001$", refund.ReceiptNumber);
        Assert.Equal(ReceiptKind.Refund, refund.Kind);
        Assert.Equal(sale.Id, refund.RefundOf);
        Assert.Equal(2 * 1000m, refund.Total);
        Assert.Equal(200m, refund.Items[0].CostOfGoods);
        Assert.Equal([new Payment(PaymentMethod.Cash, 2000m)], refund.Payments);
        // Replay answers the same refund; the level went back up by 2 only once.
        var replay = await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds", body)).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(refund.ReceiptNumber, replay.ReceiptNumber);
        Assert.Equal(9m, await LevelAsync(shop, store, v1));

        // 3 sold, 2 refunded: refunding 2 more is over.
        await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds", new { items = new[] { new { variantId = v1, quantity = 2m } } }))
            .AssertProblemAsync(HttpStatusCode.Conflict, "refund.exceeds_sold");
        await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds",
            new { items = new[] { new { variantId = v2, quantity = 1m } }, payments = new[] { new { method = "card", amount = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds",
            new { items = new[] { new { variantId = v2, quantity = 1m } }, terminalId = Guid.NewGuid() }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{Guid.NewGuid()}/refunds", body))
            .AssertProblemAsync(HttpStatusCode.NotFound, "receipt.not_found");
        var second = await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds",
            new { items = new[] { new { variantId = v2, quantity = 1m } }, payments = new[] { new { method = "card", amount = 2000m } } })).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(2, second.SequenceNo);

        // Sales numbering is untouched by refunds.
        var next = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(store))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(2, next.SequenceNo);
        Assert.Empty(await shop.ConservationViolationsAsync());

        // Reading: by number, lists, the daily report.
        var byNumber = await (await shop.Owner.GetAsync($"/api/v1/stores/{store}/receipts/by-number/{refund.ReceiptNumber}")).ReadAsync<Receipt>();
        Assert.Equal(refund.Id, byNumber.Id);
        var list = await (await shop.Owner.GetAsync($"/api/v1/receipts?storeId={store}&limit=10")).ReadAsync<ListPage<ReceiptSummary>>();
        Assert.Equal(4, list.Total);
        var report = await (await shop.Owner.GetAsync($"/api/v1/stores/{store}/reports/daily?date={sale.BusinessDate:yyyy-MM-dd}")).ReadAsync<DailyReport>();
        Assert.Equal(2, report.Receipts);
        Assert.Equal(2, report.Refunds);
        Assert.Equal(sale.Total + next.Total, report.Gross - report.Discounts);
        Assert.Equal(4000m, report.RefundTotal);
        Assert.Equal(sale.Total + next.Total - 4000m, report.Net);
        var cost = sale.Items.Sum(i => i.CostOfGoods) + next.Items.Sum(i => i.CostOfGoods) - 200m - 100m;
        Assert.Equal(cost, report.CostOfGoods);
        Assert.Equal(report.Net - cost, report.GrossMargin);
        Assert.Equal(report.Net, report.ByPaymentMethod.Sum(p => p.Net));
    }

    [Fact]
    public async Task Partial_refunds_of_a_weighed_line_add_up_to_the_line_never_more()
    {
        var shop = await TestShop.CreateAsync(api.Factory);
        var store = shop.StoreIds[0];
        var product = await TestCatalog.CreateProductAsync(shop.Owner, "Apples", new
        {
            name = "Per kg", sku = TestCatalog.Sku(), barcodes = new[] { TestCatalog.Ean13() }, price = 15.00m, unit = "kg",
        });
        var variant = product.Variants[0].Id;
        var sale = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", new
        {
            storeId = store, terminalId = shop.TerminalByStore[store],
            items = new[] { new { variantId = variant, quantity = 1.000m } },
            payments = new[] { new { method = "cash", amount = 15.00m } },
        })).ReadAsync<Receipt>(HttpStatusCode.Created);

        // 0.001 kg is worth 0.015: rounded line by line, 500 of them paid out 10.00 for 7.50 of goods.
        var half = await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds",
            new { items = Enumerable.Repeat(new { variantId = variant, quantity = 0.001m }, 500).ToArray() })).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(7.50m, half.Total);
        var rest = await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds",
            new { items = Enumerable.Repeat(new { variantId = variant, quantity = 0.001m }, 500).ToArray() })).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(sale.Total, half.Total + rest.Total);
        Assert.All(half.Items.Concat(rest.Items), l => Assert.True(l.Discount >= 0m, $"line {l.LineNo}: discount {l.Discount}"));
    }
}
