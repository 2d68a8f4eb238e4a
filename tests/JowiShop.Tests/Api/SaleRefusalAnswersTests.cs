using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using JowiShop.Grains.Abstractions;
using JowiShop.Tests.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>
/// The refusals of a sale, whole: status and every member of the problem document but the trace id,
/// for each answer the store grain now gives in the endpoint's place (terminal, customer, lines,
/// discount limit, amounts, payments, a store that does not exist). The same test passes against the
/// endpoint that priced the lines itself (de9561e).
/// </summary>
public sealed class SaleRefusalAnswersTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    /// <summary>The document as text: members in order, strings unescaped, the trace id left out.</summary>
    private static string Render(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "{" + string.Join(", ", e.EnumerateObject().Where(p => p.Name != "traceId").Select(p => $"{p.Name}: {Render(p.Value)}")) + "}",
        JsonValueKind.Array => "[" + string.Join(" | ", e.EnumerateArray().Select(Render)) + "]",
        JsonValueKind.String => e.GetString()!,
        _ => e.GetRawText(),
    };

    private static async Task<string> AnswerAsync(HttpClient client, object sale)
    {
        var response = await client.PostAsJsonAsync("/api/v1/receipts", sale);
        return $"{(int)response.StatusCode} {Render(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement)}";
    }

    [Fact]
    public async Task Every_refusal_of_a_sale_answers_the_same_document()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2, products: 3);
        var (store, other) = (shop.StoreIds[0], shop.StoreIds[1]);
        var till = shop.TerminalByStore[store];
        var (bread, milk, old) = (shop.Products[0].Variants[0].Id, shop.Products[1].Variants[0].Id, shop.Products[2].Variants[0].Id);
        (await shop.Owner.PatchAsJsonAsync($"/api/v1/products/{shop.Products[2].Id}", new { active = false })).EnsureSuccessStatusCode();
        (await shop.Owner.PutAsJsonAsync("/api/v1/tenant/settings",
            new { currency = "UZS", timeZone = "Asia/Tashkent", negativeStock = "allow", maxDiscountPercent = new { cashier = 5m, manager = 100m, admin = 100m } }))
            .EnsureSuccessStatusCode();
        var cashier = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, Roles.Cashier, [store]);
        object Sale(object[] items, decimal paid, Guid? storeId = null, Guid? terminalId = null, Guid? customerId = null) => new
        {
            storeId = storeId ?? store, terminalId = terminalId ?? till, customerId, items,
            payments = new[] { new { method = "card", amount = paid } },
        };
        var (nobody, missing, nowhere) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        const string invalid = "type: https://tools.ietf.org/html/rfc9110#section-15.5.1, title: Validation failed, status: 400";

        Assert.Equal(
            $"400 {{{invalid}, detail: terminalId: terminal {shop.TerminalByStore[other]} is not a terminal of store {store}, errors: {{terminalId: [terminal {shop.TerminalByStore[other]} is not a terminal of store {store}]}}, code: validation.failed}}",
            await AnswerAsync(shop.Owner, Sale([new { variantId = bread, quantity = 1m }], 1000m, terminalId: shop.TerminalByStore[other])));
        Assert.Equal(
            $"400 {{{invalid}, detail: customerId: customer {nobody} does not exist, errors: {{customerId: [customer {nobody} does not exist]}}, code: validation.failed}}",
            await AnswerAsync(shop.Owner, Sale([new { variantId = bread, quantity = 1m }], 1000m, customerId: nobody)));
        Assert.Equal(
            $"400 {{{invalid}, detail: items[0].variantId: variant {missing} does not exist or was deleted; items[1].variantId: variant {old} is not for sale (inactive); "
            + "items[1].quantity: must be a whole number: the variant is sold by the piece; items[2].discount: may not exceed the line's price times quantity, "
            + $"errors: {{items[0].variantId: [variant {missing} does not exist or was deleted], items[1].variantId: [variant {old} is not for sale (inactive)], "
            + "items[1].quantity: [must be a whole number: the variant is sold by the piece], items[2].discount: [may not exceed the line's price times quantity]}, code: validation.failed}",
            await AnswerAsync(shop.Owner, Sale(
                [new { variantId = missing, quantity = 1m }, new { variantId = old, quantity = 1.5m }, new { variantId = milk, quantity = 1m, discount = 2000.01m }], 1m)));
        Assert.Equal(
            "403 {type: https://tools.ietf.org/html/rfc9110#section-15.5.4, title: Forbidden, status: 403, "
            + "detail: items[1]: a cashier may sell at most 5% below the catalog price (tenant setting maxDiscountPercent.cashier)., code: receipt.discount_forbidden, line: 1, maxDiscountPercent: 5}",
            await AnswerAsync(cashier, Sale([new { variantId = bread, quantity = 1m, discount = 50m }, new { variantId = milk, quantity = 2m, discount = 200.01m }], 4749.99m)));
        Assert.Equal(
            $"400 {{{invalid}, detail: payments: card, transfer and other payments (3001) exceed the total (3000); only cash may exceed it, "
            + "errors: {payments: [card, transfer and other payments (3001) exceed the total (3000); only cash may exceed it]}, code: validation.failed}",
            await AnswerAsync(shop.Owner, Sale([new { variantId = bread, quantity = 1m }, new { variantId = milk, quantity = 1m }], 3001m)));
        Assert.Equal(
            $"400 {{{invalid}, detail: items: the receipt's subtotal exceeds 999999999999.99, errors: {{items: [the receipt's subtotal exceeds 999999999999.99]}}, code: validation.failed}}",
            await AnswerAsync(shop.Owner, Sale([new { variantId = bread, quantity = 2m, unitPrice = 999_999_999_999.99m }], 1m)));
        Assert.Equal(
            $"404 {{type: https://tools.ietf.org/html/rfc9110#section-15.5.5, title: Not found, status: 404, detail: Store {nowhere} does not exist., code: store.not_found}}",
            await AnswerAsync(shop.Owner, Sale([new { variantId = bread, quantity = 1m }], 1000m, storeId: nowhere)));
    }
}
