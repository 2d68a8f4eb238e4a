using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Sales;
using Xunit;

namespace JowiShop.Tests.Unit;

/// <summary>
/// The VAT rule (per line, half away from zero to the tiyin), pricing by rate and date, per-rate totals,
/// and refunds in parts. Decimals only.
/// </summary>
public sealed class TaxRoundingTests
{
    private static readonly Guid Tenant = Guid.NewGuid(), Store = Guid.NewGuid(), Till = Guid.NewGuid();
    private static readonly TaxSettings Defaults = TaxSettings.Defaults(Tenant);
    private static TaxRate Standard => Defaults.Rates[0];
    private static TaxRate Zero => Defaults.Rates[1];
    private static TaxRate Exempt => Defaults.Rates[2];

    private static LineTax Charge(decimal lineTotal, TaxRate rate, bool exclusive = false) => VatRule.Charge(lineTotal, rate, rate.History[0], exclusive);

    [Theory]
    // 0.98 × 12 / 112 = 0.105 exactly: a midpoint, away from zero (banker's rounding would give 0.10).
    [InlineData(0.98, 12, false, 0.11)]
    // 1 tiyin: 0.001071… rounds to nothing.
    [InlineData(0.01, 12, false, 0)]
    [InlineData(0.10, 12, false, 0.01)] // 0.0107…
    [InlineData(112.00, 12, false, 12.00)]
    [InlineData(12500.00, 12, false, 1339.29)] // 1339.2857…
    // Exclusive: 0.30 × 15 / 100 = 0.045, a midpoint: 0.05 (banker's: 0.04).
    [InlineData(0.30, 15, true, 0.05)]
    [InlineData(0.01, 12, true, 0)] // 0.0012
    [InlineData(100.00, 12, true, 12.00)]
    [InlineData(0.05, 12.5, false, 0.01)] // 0.00555…
    [InlineData(999999999.99, 12, false, 107142857.14)]
    [InlineData(5.00, 0, false, 0)]
    public void Vat_of_a_line_follows_the_one_rule(double lineTotal, double percent, bool exclusive, double expected) =>
        Assert.Equal((decimal)expected, VatRule.Vat((decimal)lineTotal, (decimal)percent, exclusive));

    [Fact]
    public void Exempt_and_zero_lines_carry_no_vat_but_stay_apart_in_the_totals()
    {
        var lines = new[]
        {
            Line(1, 1000m, Charge(1000m, Zero)),
            Line(2, 2000m, Charge(2000m, Exempt)),
            Line(3, 500m, Charge(500m, Zero)),
        };
        Assert.Equal(0m, lines.Sum(l => l.Tax!.VatAmount));
        var totals = VatRule.Totals(lines);
        Assert.Equal(2, totals.Count);
        Assert.Equal(new TaxTotal(Zero.Id, "VAT 0%", 0m, false, 1500m, 0m, 1500m), totals[0]);
        Assert.Equal(new TaxTotal(Exempt.Id, "Exempt", null, true, 2000m, 0m, 2000m), totals[1]);
    }

    [Fact]
    public void Many_lines_of_one_rate_total_exactly_the_sum_of_their_rounded_vat()
    {
        // 100 lines at the midpoint: each 0.11 by the per-line rule; the rate's total is their sum (11.00), not the
        // VAT of the rate's gross (98.00 × 12 / 112 = 10.50): the lines are what a fiscal receipt shows.
        var lines = Enumerable.Range(1, 100).Select(i => Line(i, 0.98m, Charge(0.98m, Standard))).ToArray();
        var total = Assert.Single(VatRule.Totals(lines));
        Assert.Equal(11.00m, total.VatAmount);
        Assert.Equal(98.00m, total.Gross);
        Assert.Equal(87.00m, total.Net);
        Assert.Equal(total.Gross, total.Net + total.VatAmount);
    }

    [Fact]
    public void Mixed_rates_give_per_rate_totals_that_sum_to_the_lines()
    {
        var random = new Random(13);
        var rates = Defaults.Rates;
        for (var round = 0; round < 200; round++)
        {
            var lines = Enumerable.Range(1, random.Next(1, 40)).Select(i =>
            {
                var total = random.Next(1, 10_000_000) / 100m;
                return Line(i, total, Charge(total, rates[random.Next(rates.Count)], exclusive: round % 2 == 1));
            }).ToArray();
            var totals = VatRule.Totals(lines);
            Assert.Equal(lines.Sum(l => l.Tax!.VatAmount), totals.Sum(t => t.VatAmount));
            Assert.Equal(lines.Sum(l => l.LineTotal + VatRule.AddedVat(l)), totals.Sum(t => t.Gross));
            foreach (var t in totals)
            {
                var own = lines.Where(l => l.Tax!.RateId == t.RateId).ToArray();
                Assert.Equal(own.Sum(l => l.Tax!.VatAmount), t.VatAmount);
                Assert.Equal(t.Gross, t.Net + t.VatAmount);
                Assert.All(own, l => Assert.Equal(l.Tax!.VatAmount, VatRule.Vat(l.LineTotal, l.Tax.Percent, l.Tax.Exclusive)));
            }
        }
    }

    [Fact]
    public void Vat_refunded_in_parts_adds_up_to_exactly_what_was_charged()
    {
        var random = new Random(42);
        for (var round = 0; round < 2_000; round++)
        {
            var sold = random.Next(1, 2_000) / (round % 3 == 0 ? 1000m : 1m);
            var charged = VatRule.Vat(random.Next(1, 100_000_000) / 100m, 12m, round % 2 == 0);
            decimal refunded = 0, vat = 0;
            while (refunded < sold)
            {
                var part = Math.Min(sold - refunded, Math.Max(sold / 1000m, decimal.Round(sold * random.Next(1, 60) / 100m, 3)));
                var piece = VatRule.RefundedVat(charged, sold, refunded, part);
                Assert.True(piece >= 0m, $"a part reversed {piece}");
                vat += piece;
                refunded += part;
                Assert.True(vat <= charged, $"{vat} reversed of {charged} charged after {refunded} of {sold}");
            }
            Assert.Equal(charged, vat);
        }
    }

    [Fact]
    public void Refunds_in_parts_reverse_the_sales_vat_and_exclusive_refunds_pay_it_back()
    {
        foreach (var exclusive in new[] { false, true })
        {
            var variant = Guid.NewGuid();
            var lineTotal = ReceiptMath.Line(7m, 0.14m, 0m).Total; // 0.98
            var sale = new SaleCommand(Guid.NewGuid(), Till, Guid.NewGuid(), null,
                [new SaleLine(variant, 7m, 0.14m, 0m, null, Charge(lineTotal, Standard, exclusive))],
                [new Payment(PaymentMethod.Cash, 2m)], null, [1]);
            var batch = new StoreBatch(Store, new LedgerPosition(0, 0, 0, null), _ => null);
            Assert.Null(batch.Sell(sale, DateTimeOffset.UtcNow, new DateOnly(2026, 12, 3), false));
            var receipt = batch.Receipts[^1].Receipt;
            var charged = receipt.Items[0].Tax!.VatAmount;
            Assert.Equal(exclusive ? 0.12m : 0.11m, charged);
            Assert.Equal(exclusive ? 1.10m : 0.98m, receipt.Total);

            var refundedBefore = new Dictionary<Guid, decimal>();
            decimal vat = 0, paidBack = 0;
            foreach (var part in new[] { 1m, 2m, 1m, 3m })
            {
                var refundBatch = new StoreBatch(Store, batch.To, _ => new StockState());
                var (refund, refusal) = refundBatch.Refund(
                    new RefundCommand(Guid.NewGuid(), receipt.Id, Till, Guid.NewGuid(), [new RefundLine(variant, part)], [], [2]),
                    receipt, refundedBefore, DateTimeOffset.UtcNow, new DateOnly(2026, 12, 3));
                Assert.Null(refusal);
                var line = Assert.Single(refund!.Items);
                vat += line.Tax!.VatAmount;
                paidBack += refund.Total;
                Assert.Equal(line.LineTotal + (exclusive ? line.Tax.VatAmount : 0m), refund.Total);
                Assert.Equal(line.Tax.VatAmount, Assert.Single(refund.Taxes).VatAmount);
                refundedBefore[variant] = refundedBefore.GetValueOrDefault(variant) + part;
                Assert.True(vat <= charged);
            }
            Assert.Equal(charged, vat);
            Assert.Equal(receipt.Total, paidBack);
        }
    }

    private static readonly Guid Bread = Guid.NewGuid(), Milk = Guid.NewGuid(), Meat = Guid.NewGuid();
    private static readonly Guid Dairy = Guid.NewGuid(), Fresh = Guid.NewGuid(), Food = Guid.NewGuid();

    private static SalesTaxes Taxes(TaxSettings? settings = null) => new(Guid.NewGuid(), settings ?? Defaults, new Dictionary<Guid, CategoryTax>
    {
        [Food] = new(null, null),
        [Fresh] = new(Food, Exempt.Id), // meat and the like: exempt supplies
        [Dairy] = new(Fresh, Zero.Id),
    });

    private static (SaleCommand? Sale, SaleResult? Refusal) Price(SalesTaxes taxes, DateOnly date, decimal paid, params SaleItem[] items) =>
        SalePricing.Price(new SaleOrder(Guid.NewGuid(), Till, Guid.NewGuid(), Roles.Cashier, null, items, [new Payment(PaymentMethod.Cash, paid)], null, [1]),
            Store, [Till], true, new Dictionary<Guid, CatalogPrice>
            {
                [Bread] = new(4000m, null, VariantUnit.Piece, true, null, Food),       // Food sets no rate: the tenant default
                [Milk] = new(9800m, null, VariantUnit.Piece, true, null, Dairy),       // its category's own rate
                [Meat] = new(12000m, null, VariantUnit.Kg, true, Standard.Id, Fresh),  // its own rate beats the category's
            }, DiscountLimits.Default, taxes, date);

    [Fact]
    public void A_variant_takes_its_own_rate_else_its_categorys_up_the_tree_else_the_tenant_default()
    {
        var (sale, refusal) = Price(Taxes(), new DateOnly(2026, 12, 3), 100_000m, new SaleItem(Bread, 1m, null, null), new SaleItem(Milk, 1m, null, null), new SaleItem(Meat, 0.5m, null, null));
        Assert.Null(refusal);
        Assert.Equal([Standard.Id, Zero.Id, Standard.Id], sale!.Lines.Select(l => l.Tax!.RateId));
        Assert.Equal([428.57m, 0m, 642.86m], sale.Lines.Select(l => l.Tax!.VatAmount));

        // A category without a rate under one that has one inherits it: Dairy without its own rate is Fresh's (exempt).
        var taxes = Taxes();
        var inherited = taxes with { Categories = new Dictionary<Guid, CategoryTax>(taxes.Categories) { [Dairy] = new(Fresh, null) } };
        var (milk, _) = Price(inherited, new DateOnly(2026, 12, 3), 100_000m, new SaleItem(Milk, 1m, null, null));
        Assert.Equal(Exempt.Id, milk!.Lines[0].Tax!.RateId);
        Assert.True(milk.Lines[0].Tax!.Exempt);
    }

    [Fact]
    public void A_rate_change_applies_from_its_business_date_on()
    {
        var raised = Defaults with
        {
            Rates = [Standard with { History = [.. Standard.History, new TaxRateVersion(new DateOnly(2026, 12, 4), 15m)] }, Zero, Exempt],
        };
        var (today, _) = Price(Taxes(raised), new DateOnly(2026, 12, 3), 4000m, new SaleItem(Bread, 1m, null, null));
        var (tomorrow, _) = Price(Taxes(raised), new DateOnly(2026, 12, 4), 4000m, new SaleItem(Bread, 1m, null, null));
        Assert.Equal((12m, 428.57m), (today!.Lines[0].Tax!.Percent, today.Lines[0].Tax!.VatAmount));
        Assert.Equal((15m, 521.74m), (tomorrow!.Lines[0].Tax!.Percent, tomorrow.Lines[0].Tax!.VatAmount));
    }

    [Fact]
    public void Not_a_vat_payer_sells_without_vat_and_exclusive_prices_add_it_to_what_is_paid()
    {
        var (free, _) = Price(Taxes(Defaults with { VatPayer = false }), new DateOnly(2026, 12, 3), 4000m, new SaleItem(Bread, 1m, null, null));
        Assert.Null(free!.Lines[0].Tax);

        var exclusive = Taxes(Defaults with { Prices = TaxPricing.Exclusive });
        var (short_, refusal) = Price(exclusive, new DateOnly(2026, 12, 3), 4000m, new SaleItem(Bread, 1m, null, null));
        Assert.Null(short_);
        Assert.Equal("payments (4000) do not cover the total (4480.00)", Assert.Single(refusal!.Errors!).Message);
        var (sale, _) = Price(exclusive, new DateOnly(2026, 12, 3), 4480m, new SaleItem(Bread, 1m, null, null));
        Assert.Equal(480.00m, sale!.Lines[0].Tax!.VatAmount);
        Assert.Equal(4480.00m, ReceiptMath.Totals(sale.Lines).Total);
    }

    [Fact]
    public void Lines_keep_their_tax_through_the_jsonb_row_and_old_lines_read_as_none()
    {
        var named = new TaxRate(Guid.NewGuid(), "НДС \"12%\"", Standard.History);
        var lines = new[]
        {
            Line(1, 0.98m, Charge(0.98m, named)),
            Line(2, 5m, Charge(5m, Exempt)),
            Line(3, 100m, Charge(100m, Standard, exclusive: true)),
            Line(4, 7m, null) with { Fiscal = new FiscalCodes("02201001001000000", "1495086", "796", true) },
            Line(5, 7m, null) with { Fiscal = new FiscalCodes(null, null, "\"kg\"", false) },
        };
        Assert.Equal(lines, ReceiptRows.ParseLines(ReceiptRows.LinesJson(lines)));
        var old = ReceiptRows.ParseLines("""[{"v":"0b6c5a3e-7a4c-4d8e-9f8a-2f0f6d1b8c11","q":1.000,"p":1.00,"d":0.00,"t":1.00,"c":0.0000}]""");
        Assert.Null(Assert.Single(old).Tax);
    }

    private static ReceiptLine Line(int no, decimal total, LineTax? tax) => new(no, Guid.NewGuid(), 1m, total, 0m, total, 0m, tax);
}
