using System.Net;
using System.Net.Http.Json;
using System.Text;
using JowiShop.ApiHost.Features.Receipts;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>
/// Every write that takes a client id is applied once: the same id with the same request answers
/// the original result, with another request (body, stores, the URL's receipt, or another kind of
/// operation) 409 and nothing written, also after the store grains are reactivated.
/// </summary>
public sealed class ExactlyOnceTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static async Task<decimal> LevelAsync(TestShop shop, Guid storeId, Guid variantId) =>
        await shop.ScalarAsync<decimal>("SELECT quantity FROM stock_levels WHERE tenant_id = $1 AND store_id = $2 AND variant_id = $3",
            shop.TenantId, storeId, variantId);

    /// <summary>The tenant's stock over all its stores.</summary>
    private static Task<decimal> TotalStockAsync(TestShop shop) =>
        shop.ScalarAsync<decimal>("SELECT COALESCE(sum(quantity), 0) FROM stock_levels WHERE tenant_id = $1", shop.TenantId);

    /// <summary>Deactivates every idle grain in the co-hosted silo: the next call activates the store grains afresh from PostgreSQL.</summary>
    private Task ReactivateGrainsAsync() =>
        api.Factory.Services.GetRequiredService<IGrainFactory>().GetGrain<Orleans.Runtime.IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

    private static Task<HttpResponseMessage> PostJsonAsync(HttpClient client, string path, string json) =>
        client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task AssertFieldErrorAsync(HttpResponseMessage response, string field)
    {
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
    }

    [Fact]
    public async Task A_transfer_id_reused_for_other_stores_or_lines_is_409_and_moves_nothing()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 3, products: 1, openingStock: 10m, unitCost: 100m);
        var (a, b, c) = (shop.StoreIds[0], shop.StoreIds[1], shop.StoreIds[2]);
        var variant = shop.VariantIds.Single();
        var id = Guid.NewGuid();
        object Transfer(Guid from, Guid to, decimal quantity) => new { id, fromStoreId = from, toStoreId = to, lines = new[] { new { variantId = variant, quantity } } };

        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers", Transfer(a, b, 5m))).ReadAsync<TransferResponse>(HttpStatusCode.Created);
        var total = await TotalStockAsync(shop);
        Assert.Equal(30m, total);

        // Another destination, another source, another quantity: each is another transfer.
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers", Transfer(a, c, 5m))).AssertProblemAsync(HttpStatusCode.Conflict, "transfer.id_conflict");
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers", Transfer(c, b, 5m))).AssertProblemAsync(HttpStatusCode.Conflict, "transfer.id_conflict");
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers", Transfer(a, b, 4m))).AssertProblemAsync(HttpStatusCode.Conflict, "transfer.id_conflict");
        await ReactivateGrainsAsync();
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers", Transfer(a, c, 5m))).AssertProblemAsync(HttpStatusCode.Conflict, "transfer.id_conflict");

        Assert.Equal(total, await TotalStockAsync(shop));
        Assert.Equal(5m, await LevelAsync(shop, a, variant));
        Assert.Equal(15m, await LevelAsync(shop, b, variant));
        Assert.Equal(10m, await LevelAsync(shop, c, variant));
        Assert.Equal(0L, await shop.ScalarAsync<long>("SELECT count(*) FROM stock_operations WHERE store_id = $1", c));
        Assert.Equal(0L, await shop.ScalarAsync<long>("SELECT count(*) FROM stock_movements WHERE store_id = $1 AND kind <> 'opening'", c));

        // The first request again (after the reactivation): its original result, nothing moved.
        var replayed = await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers", Transfer(a, b, 5m))).ReadAsync<TransferResponse>();
        Assert.True(replayed.Replayed);
        Assert.Equal([new TransferredLot(variant, 5m, 100m)], replayed.Lots);
        Assert.Equal(total, await TotalStockAsync(shop));
        Assert.Empty(await shop.ConservationViolationsAsync());

        // The database refuses it too: a receiving leg at a store the transfer was not sent to,
        // and a second receiving leg.
        await using var db = NpgsqlDataSource.Create(shop.PostgresConnectionString);
        const string receivingLeg = "INSERT INTO stock_operations (id, tenant_id, store_id, kind, request_hash) VALUES ($1, $2, $3, 'transfer_in', $4)";
        var atC = await Assert.ThrowsAsync<PostgresException>(() => TestShop.ExecuteAsync(db, receivingLeg, id, shop.TenantId, c, new byte[] { 1 }));
        Assert.Equal("JW002", atC.SqlState);
        var again = await Assert.ThrowsAsync<PostgresException>(() => TestShop.ExecuteAsync(db, receivingLeg, id, shop.TenantId, b, new byte[] { 1 }));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, again.SqlState);
    }

    [Fact]
    public async Task A_receiving_id_replays_only_the_same_request_and_belongs_to_one_store_and_kind()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2, products: 1, openingStock: 10m, unitCost: 100m);
        var (a, b) = (shop.StoreIds[0], shop.StoreIds[1]);
        var variant = shop.VariantIds.Single();
        var id = Guid.NewGuid();
        object Receiving(Guid store, decimal quantity, decimal unitCost) => new { id, storeId = store, lines = new[] { new { variantId = variant, quantity, unitCost } } };

        var received = await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings", Receiving(a, 1m, 100m))).ReadAsync<StockOperationResponse>(HttpStatusCode.Created);
        Assert.Equal(11m, received.Levels.Single().Quantity);

        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings", Receiving(a, 1000m, 5m)))
            .AssertProblemAsync(HttpStatusCode.Conflict, "receiving.id_conflict");
        Assert.Equal(11m, await LevelAsync(shop, a, variant));

        // The same request, however its numbers are spelled: the original result.
        var spelled = $$"""{"id":"{{id}}","storeId":"{{a}}","lines":[{"variantId":"{{variant}}","quantity":1.000,"unitCost":100.00}]}""";
        var replayed = await (await PostJsonAsync(shop.Owner, "/api/v1/inventory/receivings", spelled)).ReadAsync<StockOperationResponse>();
        Assert.True(replayed.Replayed);
        Assert.Equal(11m, replayed.Levels.Single().Quantity);

        // The judgment is read from PostgreSQL: a fresh activation judges the same.
        await ReactivateGrainsAsync();
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings", Receiving(a, 1000m, 5m)))
            .AssertProblemAsync(HttpStatusCode.Conflict, "receiving.id_conflict");
        Assert.True((await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings", Receiving(a, 1m, 100m))).ReadAsync<StockOperationResponse>()).Replayed);

        // Another store, another kind of operation, a refund: all 409.
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings", Receiving(b, 1m, 100m)))
            .AssertProblemAsync(HttpStatusCode.Conflict, "receiving.id_conflict");
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/adjustments",
            new { id, storeId = a, reason = "count", lines = new[] { new { variantId = variant, countedQuantity = 3m } } }))
            .AssertProblemAsync(HttpStatusCode.Conflict, "adjustment.id_conflict");
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers",
            new { id, fromStoreId = a, toStoreId = b, lines = new[] { new { variantId = variant, quantity = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.Conflict, "transfer.id_conflict");
        var sale = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(a, lines: 1))).ReadAsync<Receipt>(HttpStatusCode.Created);
        await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds", new { id, items = new[] { new { variantId = variant, quantity = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.Conflict, "refund.id_conflict");
        // And a receipt's id is not a stock operation's.
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings", new { id = sale.Id, storeId = a, lines = new[] { new { variantId = variant, quantity = 1m, unitCost = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.Conflict, "receiving.id_conflict");

        Assert.Equal(10m, await LevelAsync(shop, a, variant)); // 11 less the sale
        Assert.Equal(10m, await LevelAsync(shop, b, variant));
        Assert.Equal(1L, await shop.ScalarAsync<long>("SELECT count(*) FROM stock_operations WHERE id = $1", id));
        Assert.Empty(await shop.ConservationViolationsAsync());

        // The database holds an id to one operation too.
        await using var db = NpgsqlDataSource.Create(shop.PostgresConnectionString);
        var duplicate = await Assert.ThrowsAsync<PostgresException>(() => TestShop.ExecuteAsync(db,
            "INSERT INTO stock_operations (id, tenant_id, store_id, kind, request_hash) VALUES ($1, $2, $3, 'receiving', $4)", id, shop.TenantId, b, new byte[] { 1 }));
        Assert.Equal("ux_stock_operations_one_per_id", duplicate.ConstraintName);
    }

    [Fact]
    public async Task An_adjustment_id_with_another_body_is_409_and_the_same_body_replays()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1, openingStock: 10m);
        var store = shop.StoreIds[0];
        var variant = shop.VariantIds.Single();
        var id = Guid.NewGuid();
        object Adjustment(decimal delta, string reason = "writeOff") => new { id, storeId = store, reason, lines = new[] { new { variantId = variant, delta } } };

        (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/adjustments", Adjustment(-2m))).EnsureSuccessStatusCode();
        Assert.Equal(8m, await LevelAsync(shop, store, variant));
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/adjustments", Adjustment(-3m))).AssertProblemAsync(HttpStatusCode.Conflict, "adjustment.id_conflict");
        await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/adjustments", Adjustment(-2m, "damage"))).AssertProblemAsync(HttpStatusCode.Conflict, "adjustment.id_conflict");
        var replayed = await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/adjustments", Adjustment(-2m))).ReadAsync<StockOperationResponse>();
        Assert.True(replayed.Replayed);
        Assert.Equal(8m, await LevelAsync(shop, store, variant));
        Assert.Empty(await shop.ConservationViolationsAsync());
    }

    [Fact]
    public async Task A_refund_id_with_another_body_or_receipt_is_409_refund_id_conflict()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1, openingStock: 10m);
        var store = shop.StoreIds[0];
        var variant = shop.VariantIds.Single();
        var sale = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(store, lines: 1, quantity: 3m))).ReadAsync<Receipt>(HttpStatusCode.Created);
        var other = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(store, lines: 1, quantity: 3m))).ReadAsync<Receipt>(HttpStatusCode.Created);
        var id = Guid.NewGuid();
        object Refund(decimal quantity) => new { id, items = new[] { new { variantId = variant, quantity } } };

        var refund = await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds", Refund(1m))).ReadAsync<Receipt>(HttpStatusCode.Created);
        await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds", Refund(2m))).AssertProblemAsync(HttpStatusCode.Conflict, "refund.id_conflict");
        await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{other.Id}/refunds", Refund(1m))).AssertProblemAsync(HttpStatusCode.Conflict, "refund.id_conflict");
        await ReactivateGrainsAsync();
        await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds", Refund(2m))).AssertProblemAsync(HttpStatusCode.Conflict, "refund.id_conflict");
        var replayed = await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds", Refund(1m))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(refund.ReceiptNumber, replayed.ReceiptNumber);
        Assert.Equal(5m, await LevelAsync(shop, store, variant)); // 10 - 3 - 3 + 1
        Assert.Equal(1L, await shop.ScalarAsync<long>("SELECT count(*) FROM receipts WHERE tenant_id = $1 AND kind = 'refund'", shop.TenantId));
        Assert.Empty(await shop.ConservationViolationsAsync());
    }

    [Fact]
    public async Task A_zero_priced_line_is_refunded_with_no_payment()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 0);
        var store = shop.StoreIds[0];
        var product = await TestCatalog.CreateProductAsync(shop.Owner, "Free sample", TestCatalog.Variant(price: 0m));
        var variant = product.Variants.Single().Id;
        await shop.ReceiveAsync(store, variant, 5m, 0m, DateTimeOffset.UtcNow.AddDays(-1));
        var sale = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", new
        {
            id = Guid.NewGuid(), storeId = store, terminalId = shop.TerminalByStore[store],
            items = new[] { new { variantId = variant, quantity = 2m } },
            payments = new[] { new { method = "cash", amount = 1m } },
        })).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(0m, sale.Total);

        var refund = await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds",
            new { items = new[] { new { variantId = variant, quantity = 1m } } })).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(0m, refund.Total);
        Assert.Empty(refund.Payments);
        // Paying back money for free goods does not add up: a 400, nothing written.
        await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds",
            new { items = new[] { new { variantId = variant, quantity = 1m } }, payments = new[] { new { method = "cash", amount = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        Assert.Equal(4m, await LevelAsync(shop, store, variant));
        Assert.Empty(await shop.ConservationViolationsAsync());
    }

    [Fact]
    public async Task Null_lines_in_stock_operations_are_400_naming_the_line()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2, products: 1);
        var (a, b) = (shop.StoreIds[0], shop.StoreIds[1]);
        await AssertFieldErrorAsync(await PostJsonAsync(shop.Owner, "/api/v1/inventory/receivings", $$"""{"storeId":"{{a}}","lines":[null]}"""), "lines[0]");
        await AssertFieldErrorAsync(await PostJsonAsync(shop.Owner, "/api/v1/inventory/adjustments",
            $$"""{"storeId":"{{a}}","reason":"count","lines":[null]}"""), "lines[0]");
        await AssertFieldErrorAsync(await PostJsonAsync(shop.Owner, "/api/v1/inventory/transfers",
            $$"""{"fromStoreId":"{{a}}","toStoreId":"{{b}}","lines":[null]}"""), "lines[0]");
        Assert.Equal(0L, await shop.ScalarAsync<long>("SELECT count(*) FROM stock_operations WHERE tenant_id = $1", shop.TenantId));
    }

    [Fact]
    public async Task Quantities_of_piece_variants_are_whole_in_stock_operations_and_refunds()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2, products: 1, openingStock: 10m);
        var (a, b) = (shop.StoreIds[0], shop.StoreIds[1]);
        var piece = shop.VariantIds.Single();

        await AssertFieldErrorAsync(await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings",
            new { storeId = a, lines = new[] { new { variantId = piece, quantity = 0.5m, unitCost = 1m } } }), "lines[0].quantity");
        await AssertFieldErrorAsync(await shop.Owner.PostAsJsonAsync("/api/v1/inventory/adjustments",
            new { storeId = a, reason = "damage", lines = new[] { new { variantId = piece, delta = -0.5m } } }), "lines[0].delta");
        await AssertFieldErrorAsync(await shop.Owner.PostAsJsonAsync("/api/v1/inventory/adjustments",
            new { storeId = a, reason = "count", lines = new[] { new { variantId = piece, countedQuantity = 2.5m } } }), "lines[0].countedQuantity");
        await AssertFieldErrorAsync(await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers",
            new { fromStoreId = a, toStoreId = b, lines = new[] { new { variantId = piece, quantity = 0.5m } } }), "lines[0].quantity");
        var sale = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(a, lines: 1, quantity: 2m))).ReadAsync<Receipt>(HttpStatusCode.Created);
        await AssertFieldErrorAsync(await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{sale.Id}/refunds",
            new { items = new[] { new { variantId = piece, quantity = 0.5m } } }), "items[0].quantity");
        Assert.Equal(8m, await LevelAsync(shop, a, piece));
        Assert.Equal(10m, await LevelAsync(shop, b, piece));

        // Weighed goods take fractions.
        var kg = (await TestCatalog.CreateProductAsync(shop.Owner, "Apples", new
        {
            name = "Loose", sku = TestCatalog.Sku(), barcodes = new[] { TestCatalog.Ean13() }, price = 15000m, cost = 9000m, unit = "kg",
        })).Variants.Single();
        Assert.Equal(VariantUnit.Kg, kg.Unit);
        var received = await (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/receivings",
            new { storeId = a, lines = new[] { new { variantId = kg.Id, quantity = 0.5m, unitCost = 9000m } } })).ReadAsync<StockOperationResponse>(HttpStatusCode.Created);
        Assert.Equal(0.5m, received.Levels.Single().Quantity);
    }
}
