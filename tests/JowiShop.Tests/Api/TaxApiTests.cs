using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using JowiShop.ApiHost.Features.Products;
using JowiShop.ApiHost.Features.Taxes;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>
/// Taxes through the API (issue 13): the tenant's rates, a sale with mixed rates (per line and per rate),
/// refunds in parts, rate changes from a date and from the next sale on, inheritance, isolation, strict input.
/// </summary>
public sealed class TaxApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static object Variant(decimal price, Guid? taxRateId = null, string unit = "piece") => new
    {
        name = "Default", sku = TestCatalog.Sku(), barcodes = new[] { TestCatalog.Code128() }, price, unit, taxRateId,
    };

    private static async Task<JsonElement> SellAsync(TestShop shop, params (Guid Variant, decimal Quantity, decimal Price)[] lines)
    {
        var total = lines.Sum(l => decimal.Round(l.Quantity * l.Price, 2, MidpointRounding.AwayFromZero));
        return await SellPayingAsync(shop, total * 2, lines); // cash: change is fine, and covers exclusive VAT
    }

    private static async Task<JsonElement> SellPayingAsync(TestShop shop, decimal cash, params (Guid Variant, decimal Quantity, decimal Price)[] lines)
    {
        var store = shop.StoreIds[0];
        var response = await shop.Owner.PostAsJsonAsync("/api/v1/receipts", new
        {
            storeId = store, terminalId = shop.TerminalByStore[store],
            items = lines.Select(l => new { variantId = l.Variant, quantity = l.Quantity }).ToArray(),
            payments = new[] { new { method = "cash", amount = cash } },
        });
        return await response.ReadAsync<JsonElement>(HttpStatusCode.Created);
    }

    private static decimal? Vat(JsonElement line) => line.GetProperty("tax").ValueKind == JsonValueKind.Null ? null : line.GetProperty("tax").GetProperty("vatAmount").GetDecimal();

    private static Guid? RateOf(JsonElement line) => line.GetProperty("tax").ValueKind == JsonValueKind.Null ? null : line.GetProperty("tax").GetProperty("rateId").GetGuid();

    [Fact]
    public async Task A_sale_with_mixed_rates_shows_vat_per_line_and_per_rate_and_refunds_in_parts_reverse_exactly_that()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 0);
        var taxes = await (await shop.Owner.GetAsync("/api/v1/taxes")).ReadAsync<TaxSettingsView>();
        Assert.True(taxes.VatPayer);
        Assert.Equal(TaxPricing.Inclusive, taxes.Prices);
        Assert.Equal(["VAT 12%", "VAT 0%", "Exempt"], taxes.Rates.Select(r => r.Name));
        var (standard, zero, exempt) = (taxes.Rates[0], taxes.Rates[1], taxes.Rates[2]);
        Assert.Equal(standard.Id, taxes.DefaultRateId);
        Assert.Equal(12m, standard.Current!.Percent);
        Assert.True(exempt.Current!.Exempt);

        var dairy = await (await shop.Owner.PostAsJsonAsync("/api/v1/categories", new { name = "Dairy", taxRateId = zero.Id })).ReadAsync<Category>(HttpStatusCode.Created);
        Assert.Equal(zero.Id, dairy.TaxRateId);
        var mixed = await TestCatalog.CreateProductAsync(shop.Owner, "Mixed", Variant(0.98m), Variant(12500m, exempt.Id));
        var milk = await (await shop.Owner.PostAsJsonAsync("/api/v1/products", new { name = "Milk", categoryId = dairy.Id, variants = new[] { Variant(9800m) } }))
            .ReadAsync<Product>(HttpStatusCode.Created);
        Assert.Equal([null, exempt.Id], mixed.Variants.Select(v => v.TaxRateId));
        var (cheap, wine, milkVariant) = (mixed.Variants[0].Id, mixed.Variants[1].Id, milk.Variants[0].Id);

        var receipt = await SellAsync(shop, (cheap, 3m, 0.98m), (wine, 1m, 12500m), (milkVariant, 2m, 9800m));
        var items = receipt.GetProperty("items").EnumerateArray().ToArray();
        // 2.94 × 12 / 112 = 0.315: half away from zero, 0.32. Exempt and 0% lines: 0.
        Assert.Equal([0.32m, 0m, 0m], items.Select(i => Vat(i)!.Value));
        Assert.Equal([standard.Id, exempt.Id, zero.Id], items.Select(i => RateOf(i)!.Value));
        Assert.Equal(JsonValueKind.Null, items[1].GetProperty("tax").GetProperty("percent").ValueKind);
        Assert.True(items[1].GetProperty("tax").GetProperty("exempt").GetBoolean());
        Assert.Equal(0.32m, receipt.GetProperty("vatTotal").GetDecimal());
        static (string?, decimal, decimal, decimal)[] PerRate(JsonElement receipt) => receipt.GetProperty("taxes").EnumerateArray()
            .Select(t => (t.GetProperty("rateName").GetString(), t.GetProperty("net").GetDecimal(), t.GetProperty("vatAmount").GetDecimal(), t.GetProperty("gross").GetDecimal()))
            .ToArray();
        var perRate = PerRate(receipt);
        Assert.Equal([("VAT 12%", 2.62m, 0.32m, 2.94m), ("Exempt", 12500m, 0m, 12500m), ("VAT 0%", 19600m, 0m, 19600m)], perRate);
        Assert.Equal(receipt.GetProperty("total").GetDecimal(), perRate.Sum(t => t.Item4));

        // Read back from the jsonb row: the same figures; the view shows them as columns.
        var id = receipt.GetProperty("id").GetGuid();
        var stored = await (await shop.Owner.GetAsync($"/api/v1/receipts/{id}")).ReadAsync<JsonElement>();
        Assert.Equal(perRate, PerRate(stored));
        Assert.Equal(0.32m, await shop.ScalarAsync<decimal>("SELECT sum(vat_amount) FROM receipt_items WHERE tenant_id = $1 AND receipt_id = $2", shop.TenantId, id));
        Assert.Equal(1L, await shop.ScalarAsync<long>("SELECT count(*) FROM receipt_items WHERE tenant_id = $1 AND receipt_id = $2 AND vat_exempt", shop.TenantId, id));

        // Refund the 12% line one unit at a time: 0.11 + 0.10 + 0.11 = 0.32, never more.
        var reversed = new List<decimal>();
        foreach (var _ in Enumerable.Range(0, 3))
        {
            var refund = await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{id}/refunds", new { items = new[] { new { variantId = cheap, quantity = 1m } } }))
                .ReadAsync<JsonElement>(HttpStatusCode.Created);
            var line = refund.GetProperty("items")[0];
            reversed.Add(Vat(line)!.Value);
            Assert.Equal(standard.Id, RateOf(line));
            Assert.Equal(Vat(line), refund.GetProperty("taxes")[0].GetProperty("vatAmount").GetDecimal());
        }
        Assert.Equal([0.11m, 0.10m, 0.11m], reversed);
        Assert.Equal(0.32m, reversed.Sum());
    }

    [Fact]
    public async Task Rate_changes_are_charged_from_their_date_and_from_the_next_sale_on()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 0);
        var taxes = await (await shop.Owner.GetAsync("/api/v1/taxes")).ReadAsync<TaxSettingsView>();
        var (standard, exempt) = (taxes.Rates[0], taxes.Rates[2]);
        var food = await (await shop.Owner.PostAsJsonAsync("/api/v1/categories", new { name = "Food" })).ReadAsync<Category>(HttpStatusCode.Created);
        var bread = (await (await shop.Owner.PostAsJsonAsync("/api/v1/products", new { name = "Bread", categoryId = food.Id, variants = new[] { Variant(4000m) } }))
            .ReadAsync<Product>(HttpStatusCode.Created)).Variants[0];
        decimal? VatOf(JsonElement receipt) => Vat(receipt.GetProperty("items")[0]);

        Assert.Equal(428.57m, VatOf(await SellAsync(shop, (bread.Id, 1m, 4000m)))); // the tenant default, 12%

        // 15% from a date after today's business date (in any time zone): not charged yet.
        var later = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(2);
        var changed = await (await shop.Owner.PostAsJsonAsync($"/api/v1/taxes/rates/{standard.Id}/changes", new { percent = 15m, effectiveFrom = later }))
            .ReadAsync<TaxRateView>();
        Assert.Equal([DateOnly.MinValue, later], changed.History.Select(v => v.EffectiveFrom));
        Assert.Equal(428.57m, VatOf(await SellAsync(shop, (bread.Id, 1m, 4000m))));
        // From a date already begun: the very next sale is charged 15%.
        (await shop.Owner.PostAsJsonAsync($"/api/v1/taxes/rates/{standard.Id}/changes",
            new { percent = 15m, effectiveFrom = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1) })).EnsureSuccessStatusCode();
        var fifteen = await SellAsync(shop, (bread.Id, 1m, 4000m));
        Assert.Equal(521.74m, VatOf(fifteen));
        Assert.Equal(15m, fifteen.GetProperty("items")[0].GetProperty("tax").GetProperty("percent").GetDecimal());
        // Stored, not just in memory: after every grain is deactivated the tenant grain reads them back, and the
        // store grain (a new activation, so a new token) is charged them again.
        await api.Factory.Services.GetRequiredService<IGrainFactory>().GetGrain<Orleans.Runtime.IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(3, (await (await shop.Owner.GetAsync($"/api/v1/taxes/rates/{standard.Id}")).ReadAsync<TaxRateView>()).History.Count);
        Assert.Equal(521.74m, VatOf(await SellAsync(shop, (bread.Id, 1m, 4000m))));

        // The category's rate, then the variant's own, each from the next sale on.
        (await shop.Owner.PatchAsJsonAsync($"/api/v1/categories/{food.Id}", new { taxRateId = exempt.Id })).EnsureSuccessStatusCode();
        Assert.Equal(exempt.Id, RateOf((await SellAsync(shop, (bread.Id, 1m, 4000m))).GetProperty("items")[0]));
        var own = await (await shop.Owner.PostAsJsonAsync("/api/v1/taxes/rates", new { name = "VAT 5%", percent = 5m })).ReadAsync<TaxRateView>(HttpStatusCode.Created);
        (await shop.Owner.PatchAsJsonAsync($"/api/v1/products/{bread.ProductId}/variants/{bread.Id}", new { taxRateId = own.Id })).EnsureSuccessStatusCode();
        var five = await SellAsync(shop, (bread.Id, 1m, 4000m));
        Assert.Equal((own.Id, 190.48m), (RateOf(five.GetProperty("items")[0])!.Value, VatOf(five)!.Value));
        // null: inherits again (the category's exempt rate).
        var cleared = await (await shop.Owner.PatchAsJsonAsync($"/api/v1/products/{bread.ProductId}/variants/{bread.Id}", new { taxRateId = (Guid?)null }))
            .ReadAsync<Product>();
        Assert.Null(cleared.Variants[0].TaxRateId);
        Assert.Equal(exempt.Id, RateOf((await SellAsync(shop, (bread.Id, 1m, 4000m))).GetProperty("items")[0]));

        // Exclusive prices: the VAT comes on top, and payments must cover it.
        (await shop.Owner.PatchAsJsonAsync($"/api/v1/categories/{food.Id}", new { taxRateId = (Guid?)null })).EnsureSuccessStatusCode();
        (await shop.Owner.PutAsJsonAsync("/api/v1/taxes", new { vatPayer = true, prices = "exclusive", defaultRateId = standard.Id })).EnsureSuccessStatusCode();
        var store = shop.StoreIds[0];
        await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", new
        {
            storeId = store, terminalId = shop.TerminalByStore[store], items = new[] { new { variantId = bread.Id, quantity = 1m } },
            payments = new[] { new { method = "card", amount = 4000m } },
        })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        var exclusive = await SellPayingAsync(shop, 4600m, (bread.Id, 1m, 4000m));
        Assert.Equal((600m, 4600m), (VatOf(exclusive)!.Value, exclusive.GetProperty("total").GetDecimal()));
        Assert.True(exclusive.GetProperty("items")[0].GetProperty("tax").GetProperty("exclusive").GetBoolean());

        // Not a VAT payer: lines carry no tax, the receipt no per-rate totals.
        (await shop.Owner.PutAsJsonAsync("/api/v1/taxes", new { vatPayer = false, prices = "inclusive", defaultRateId = standard.Id })).EnsureSuccessStatusCode();
        var untaxed = await SellAsync(shop, (bread.Id, 1m, 4000m));
        Assert.Null(VatOf(untaxed));
        Assert.Equal(0, untaxed.GetProperty("taxes").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, untaxed.GetProperty("vatTotal").ValueKind);
    }

    [Fact]
    public async Task Tax_input_is_strict_and_other_tenants_rates_do_not_exist()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1, openingStock: 0);
        var (foreign, foreignRegistration) = await api.Factory.RegisterAsync();
        var foreignRate = TaxSettings.Defaults(foreignRegistration.TenantId).DefaultRateId;

        await (await shop.Owner.GetAsync($"/api/v1/taxes/rates/{foreignRate}")).AssertProblemAsync(HttpStatusCode.NotFound, "tax_rate.not_found");
        await (await shop.Owner.PostAsJsonAsync($"/api/v1/taxes/rates/{foreignRate}/changes", new { percent = 10m, effectiveFrom = "2026-01-01" }))
            .AssertProblemAsync(HttpStatusCode.NotFound, "tax_rate.not_found");
        var problem = await (await shop.Owner.PatchAsJsonAsync($"/api/v1/products/{shop.Products[0].Id}/variants/{shop.Products[0].Variants[0].Id}",
            new { taxRateId = foreignRate })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("taxRateId", out _));
        problem = await (await shop.Owner.PutAsJsonAsync("/api/v1/taxes", new { vatPayer = true, prices = "inclusive", defaultRateId = foreignRate }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("defaultRateId", out _));

        problem = await (await shop.Owner.PostAsJsonAsync("/api/v1/taxes/rates", new { name = "Odd", percent = 12.345m }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("percent", out _));
        problem = await (await shop.Owner.PostAsJsonAsync("/api/v1/taxes/rates", new { name = "Both", percent = 12m, exempt = true }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("percent", out _));
        problem = await (await shop.Owner.PostAsJsonAsync("/api/v1/taxes/rates", new { name = "Extra", percent = 12m, rate = 12m }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "request.malformed"); // unknown fields, as everywhere
        Assert.True(problem.GetProperty("errors").TryGetProperty("rate", out _));
        await (await shop.Owner.PostAsJsonAsync("/api/v1/taxes/rates", new { name = "vat 12%", percent = 12m }))
            .AssertProblemAsync(HttpStatusCode.Conflict, "tax_rate.name_taken");
        problem = await (await shop.Owner.PostAsJsonAsync($"/api/v1/taxes/rates/{TaxSettings.Defaults(shop.TenantId).DefaultRateId}/changes", new { percent = 15m }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("effectiveFrom", out _));

        var manager = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, Roles.Manager);
        await (await manager.PostAsJsonAsync("/api/v1/taxes/rates", new { name = "Manager's", percent = 1m })).AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        Assert.Equal(3, (await (await manager.GetAsync("/api/v1/taxes")).ReadAsync<TaxSettingsView>()).Rates.Count);
        // The other tenant's taxes are untouched by all of this.
        Assert.Equal(3, (await (await foreign.GetAsync("/api/v1/taxes")).ReadAsync<TaxSettingsView>()).Rates.Count);
    }

    [Fact]
    public async Task Variants_carry_fiscal_codes_onto_receipt_and_refund_lines()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 0);
        var problem = await (await shop.Owner.PostAsJsonAsync("/api/v1/products", new
        {
            name = "Bad codes", variants = new[] { new { name = "V", sku = TestCatalog.Sku(), barcodes = new[] { TestCatalog.Code128() }, price = 1m,
                ikpuCode = "0210100100100000", packageCode = "12a", unitCode = "pcs" } },
        })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("variants[0].ikpuCode", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("variants[0].packageCode", out _));

        var water = await (await shop.Owner.PostAsJsonAsync("/api/v1/products", new
        {
            name = "Water", variants = new[] { new { name = "1.5 l", sku = TestCatalog.Sku(), barcodes = new[] { TestCatalog.Code128() }, price = 5000m,
                ikpuCode = "02201001001000000", packageCode = "1495086", unitCode = "796", marked = true } },
        })).ReadAsync<Product>(HttpStatusCode.Created);
        var variant = water.Variants[0];
        Assert.Equal(("02201001001000000", "1495086", "796", true), (variant.IkpuCode, variant.PackageCode, variant.UnitCode, variant.Marked));
        await (await shop.Owner.PatchAsJsonAsync($"/api/v1/products/{water.Id}/variants/{variant.Id}", new { ikpuCode = "123" }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");

        var receipt = await SellAsync(shop, (variant.Id, 2m, 5000m));
        var fiscal = receipt.GetProperty("items")[0].GetProperty("fiscal");
        Assert.Equal("02201001001000000", fiscal.GetProperty("ikpuCode").GetString());
        Assert.True(fiscal.GetProperty("marked").GetBoolean());
        var id = receipt.GetProperty("id").GetGuid();
        Assert.Equal("1495086", await shop.ScalarAsync<string>("SELECT package_code FROM receipt_items WHERE tenant_id = $1 AND receipt_id = $2", shop.TenantId, id));

        // A later change of the codes does not touch what was sold; the refund line carries the sale's.
        var patched = await (await shop.Owner.PatchAsJsonAsync($"/api/v1/products/{water.Id}/variants/{variant.Id}", new { ikpuCode = (string?)null, marked = false }))
            .ReadAsync<Product>();
        Assert.Null(patched.Variants[0].IkpuCode);
        var refund = await (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{id}/refunds", new { items = new[] { new { variantId = variant.Id, quantity = 1m } } }))
            .ReadAsync<JsonElement>(HttpStatusCode.Created);
        Assert.Equal("02201001001000000", refund.GetProperty("items")[0].GetProperty("fiscal").GetProperty("ikpuCode").GetString());
        var later = await SellAsync(shop, (variant.Id, 1m, 5000m));
        Assert.Equal(JsonValueKind.Null, later.GetProperty("items")[0].GetProperty("fiscal").GetProperty("ikpuCode").ValueKind);
        Assert.False(later.GetProperty("items")[0].GetProperty("fiscal").GetProperty("marked").GetBoolean());
    }

    [Fact]
    public async Task A_replayed_sale_answers_the_vat_it_was_charged_even_after_a_rate_change()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var standard = TaxSettings.Defaults(shop.TenantId).DefaultRateId;
        var body = shop.Sale(shop.StoreIds[0], id: Guid.NewGuid(), lines: 1);
        var first = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", body)).ReadAsync<JsonElement>(HttpStatusCode.Created);
        Assert.Equal(107.14m, Vat(first.GetProperty("items")[0])); // 1000 × 12 / 112 = 107.142…

        (await shop.Owner.PostAsJsonAsync($"/api/v1/taxes/rates/{standard}/changes",
            new { percent = 20m, effectiveFrom = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1) })).EnsureSuccessStatusCode();
        // Same id, same body: the original receipt, as charged (tax comes from the catalog, not the request hash).
        var replay = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", body)).ReadAsync<JsonElement>(HttpStatusCode.Created);
        Assert.Equal(first.GetProperty("receiptNumber").GetString(), replay.GetProperty("receiptNumber").GetString());
        Assert.Equal(107.14m, Vat(replay.GetProperty("items")[0]));
        Assert.Equal(1L, await shop.ScalarAsync<long>("SELECT count(*) FROM receipts WHERE tenant_id = $1", shop.TenantId));
        // A new sale is charged the new rate.
        Assert.Equal(166.67m, Vat((await SellAsync(shop, (shop.VariantIds.First(), 1m, 1000m))).GetProperty("items")[0]));
    }
}
