using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Sales;
using Xunit;

namespace JowiShop.Tests.Unit;

/// <summary>
/// StoreBatch alone (no database, no grain): how a commit numbers sales and refunds from the
/// position it continues from, draws stock oldest batch first for the cost of goods, does the
/// receipt's sums, and values refunds so that partial refunds add up to exactly what was paid.
/// </summary>
public sealed class StoreBatchTests
{
    private static readonly Guid Store = Guid.NewGuid();
    private static readonly Guid Terminal = Guid.NewGuid();
    private static readonly Guid Cashier = Guid.NewGuid();
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 9, 30, 0, TimeSpan.Zero);
    private static readonly DateOnly Today = new(2026, 12, 3);

    [Fact]
    public void Sales_are_numbered_after_the_position_and_the_commit_leaves_the_next_one()
    {
        var from = new LedgerPosition(Version: 7, ReceiptSeq: 41, RefundSeq: 3, Token: Guid.NewGuid(), BatchSeq: 12);
        var variant = Guid.NewGuid();
        var batch = new StoreBatch(Store, from, _ => Stocked(100m, (100m, 2m)));

        Assert.Null(batch.Sell(Sale(variant, 1m, 5m), Now, Today, refuseNegativeStock: false));
        Assert.Null(batch.Sell(Sale(variant, 2m, 5m), Now, Today, refuseNegativeStock: false));

        Assert.Equal([42L, 43L], batch.Receipts.Select(r => r.Receipt.SequenceNo));
        Assert.Equal(["R-20261203-0042", "R-20261203-0043"], batch.Receipts.Select(r => r.Receipt.ReceiptNumber));
        Assert.Equal(new LedgerPosition(8, 43, 3, batch.Token, 12), batch.To);
        var fence = batch.ToCommit(Guid.NewGuid()).Fence;
        Assert.Equal(new StoreFence(7, 41, 43, 3, 3, from.Token, batch.Token), fence);
    }

    [Fact]
    public void A_sale_refused_for_stock_takes_no_number_and_no_stock()
    {
        var variant = Guid.NewGuid();
        var batch = new StoreBatch(Store, new LedgerPosition(0, 0, 0, null), _ => Stocked(2m, (2m, 1m)));

        var refusal = batch.Sell(Sale(variant, 3m, 5m), Now, Today, refuseNegativeStock: true);

        Assert.Equal(SaleOutcome.InsufficientStock, refusal!.Outcome);
        Assert.Equal(variant, refusal.VariantId);
        Assert.Empty(batch.Receipts);
        Assert.Equal(0, batch.To.ReceiptSeq);
        Assert.Equal(2m, batch.Working(variant).Quantity);
        Assert.Null(batch.Sell(Sale(variant, 2m, 5m), Now, Today, refuseNegativeStock: true));
        Assert.Equal(1, batch.To.ReceiptSeq);
    }

    [Fact]
    public void The_cost_of_goods_draws_the_oldest_batches_first_then_the_last_cost_beyond_stock()
    {
        var variant = Guid.NewGuid();
        // Oldest first: 3 at 1.10, then 5 at 1.30 (the last cost).
        var batch = new StoreBatch(Store, new LedgerPosition(0, 0, 0, null), _ => Stocked(8m, (3m, 1.10m), (5m, 1.30m)));

        batch.Sell(Sale(variant, 4m, 2m), Now, Today, false);
        batch.Sell(Sale(variant, 6m, 2m), Now, Today, false);

        var costs = batch.Receipts.Select(r => r.Receipt.Items.Single().CostOfGoods).ToArray();
        Assert.Equal(3m * 1.10m + 1m * 1.30m, costs[0]);
        // 4 left of the newer batch, 2 beyond stock at its cost.
        Assert.Equal(4m * 1.30m + 2m * 1.30m, costs[1]);
        var stock = batch.Working(variant);
        Assert.Equal(-2m, stock.Quantity);
        Assert.All(stock.Batches, b => Assert.Equal(0m, b.Remaining));
    }

    [Fact]
    public void Stock_never_received_is_costed_at_the_catalog_cost()
    {
        var variant = Guid.NewGuid();
        var batch = new StoreBatch(Store, new LedgerPosition(0, 0, 0, null), _ => null);

        batch.Sell(Sale(variant, 3m, 10m, catalogCost: 4.25m), Now, Today, false);

        Assert.Equal(12.75m, batch.Receipts.Single().Receipt.Items.Single().CostOfGoods);
        Assert.Equal(-3m, batch.Working(variant).Quantity);
    }

    [Fact]
    public void The_receipt_sums_lines_rounded_to_the_cent_and_returns_change_from_cash_only()
    {
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        var batch = new StoreBatch(Store, new LedgerPosition(0, 0, 0, null), _ => Stocked(100m, (100m, 1m)));
        // 0.333 kg at 10.005 = 3.331665 -> 3.33; 2 at 4.50 with 1.00 off = 8.00.
        var sale = new SaleCommand(Guid.NewGuid(), Terminal, Cashier, null,
            [new SaleLine(a, 0.333m, 10.005m, 0m, null), new SaleLine(b, 2m, 4.50m, 1.00m, null)],
            [new Payment(PaymentMethod.Card, 5.00m), new Payment(PaymentMethod.Cash, 10.00m)], null, [1]);

        Assert.Null(batch.Sell(sale, Now, Today, false));

        var receipt = batch.Receipts.Single().Receipt;
        Assert.Equal([3.33m, 8.00m], receipt.Items.Select(i => i.LineTotal));
        Assert.Equal(12.33m, receipt.Subtotal);
        Assert.Equal(1.00m, receipt.DiscountTotal);
        Assert.Equal(11.33m, receipt.Total);
        Assert.Equal(3.67m, receipt.Change);
        Assert.Equal([1, 2], receipt.Items.Select(i => i.LineNo));
    }

    [Fact]
    public void Partial_refunds_pay_back_exactly_the_line_total_in_all_and_restock_at_the_sales_cost()
    {
        var variant = Guid.NewGuid();
        // 1 kg at 7.50 = 7.50, refunded in 1,000 parts of 0.001 kg: rounding each part would pay 0.01 each (10.00).
        var original = SoldReceipt(variant, quantity: 1m, unitPrice: 7.50m, costOfGoods: 3.3333m);
        var refundedBefore = new Dictionary<Guid, decimal>();
        var position = new LedgerPosition(0, 5, 0, null);
        var stock = new StockState { Stored = true };
        decimal paidBack = 0;
        for (var part = 0; part < 1000; part++)
        {
            var batch = new StoreBatch(Store, position, _ => stock);
            var (refund, refusal) = batch.Refund(Refund(original.Id, variant, 0.001m), original, refundedBefore, Now, Today);
            Assert.Null(refusal);
            paidBack += refund!.Total;
            refundedBefore[variant] = refundedBefore.GetValueOrDefault(variant) + 0.001m;
            position = batch.To;
            stock = batch.Working(variant);
        }

        Assert.Equal(7.50m, paidBack);
        Assert.Equal(1000, position.RefundSeq);
        Assert.Equal(1m, stock.Quantity);
        // Restocked at the sale's unit cost (3.3333 per kg, to 4 places).
        Assert.All(stock.Batches, b => Assert.Equal(3.3333m, b.UnitCost));
    }

    [Fact]
    public void A_refund_beyond_what_was_sold_and_not_yet_refunded_is_refused_without_a_number()
    {
        var variant = Guid.NewGuid();
        var original = SoldReceipt(variant, quantity: 2m, unitPrice: 5m, costOfGoods: 4m);
        var batch = new StoreBatch(Store, new LedgerPosition(0, 1, 4, null), _ => null);

        var (refund, refusal) = batch.Refund(Refund(original.Id, variant, 1.5m), original, new Dictionary<Guid, decimal> { [variant] = 1m }, Now, Today);

        Assert.Null(refund);
        Assert.Equal(SaleOutcome.RefundExceedsSale, refusal!.Outcome);
        Assert.Equal(4, batch.To.RefundSeq);
        Assert.Empty(batch.Receipts);

        var (allowed, _) = batch.Refund(Refund(original.Id, variant, 1m), original, new Dictionary<Guid, decimal> { [variant] = 1m }, Now, Today);
        Assert.Equal("RF-20261203-0005", allowed!.ReceiptNumber);
        Assert.Equal(5m, allowed.Total);
        Assert.Equal(original.Id, allowed.RefundOf);
    }

    [Fact]
    public void A_put_into_negative_stock_makes_good_the_deficit_first()
    {
        var variant = Guid.NewGuid();
        var batch = new StoreBatch(Store, new LedgerPosition(0, 0, 0, null, BatchSeq: 9), _ => Stocked(-3m));

        batch.Put(variant, 10m, 2m, "receiving", "receiving", null, "PO-1", Now);

        var stock = batch.Working(variant);
        Assert.Equal(7m, stock.Quantity);
        var received = Assert.Single(stock.Batches);
        Assert.Equal(7m, received.Remaining);
        Assert.Equal(10, received.Seq);
        Assert.Equal(10, batch.To.BatchSeq);
    }

    private static StockState Stocked(decimal quantity, params (decimal Remaining, decimal UnitCost)[] batches)
    {
        var seq = 0;
        return new StockState
        {
            Quantity = quantity,
            Stored = true,
            LastUnitCost = batches.Length > 0 ? batches[^1].UnitCost : null,
            Batches = batches.Select(b => new StockBatch(Guid.NewGuid(), b.UnitCost, ++seq) { Remaining = b.Remaining }).ToList(),
        };
    }

    private static SaleCommand Sale(Guid variant, decimal quantity, decimal unitPrice, decimal? catalogCost = null) =>
        new(Guid.NewGuid(), Terminal, Cashier, null, [new SaleLine(variant, quantity, unitPrice, 0m, catalogCost)],
            [new Payment(PaymentMethod.Cash, ReceiptMath.Money(quantity * unitPrice))], null, [1]);

    private static RefundCommand Refund(Guid original, Guid variant, decimal quantity) =>
        new(Guid.NewGuid(), original, Terminal, Cashier, [new RefundLine(variant, quantity)], [], [2]);

    private static Receipt SoldReceipt(Guid variant, decimal quantity, decimal unitPrice, decimal costOfGoods)
    {
        var total = ReceiptMath.Money(quantity * unitPrice);
        return new Receipt(Guid.NewGuid(), "R-20261203-0001", ReceiptKind.Sale, Store, Terminal, Cashier, null, null, Now, Today,
            [new ReceiptLine(1, variant, quantity, unitPrice, 0m, total, costOfGoods)], total, 0m, total,
            [new Payment(PaymentMethod.Cash, total)], 0m, null, 1);
    }
}
