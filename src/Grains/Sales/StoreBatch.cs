using JowiShop.Grains.Abstractions.Sales;

namespace JowiShop.Grains.Sales;

/// <summary>
/// Where a store's ledger stands: the fence row's values, and the last FIFO sequence given to a
/// batch of the store (not fenced: only the fenced writer inserts batches, and stock_lots' unique
/// key refuses a stale one). The confirmed position is what the last successful commit left; a
/// batch continues from the tentative one (the last batch submitted).
/// </summary>
public readonly record struct LedgerPosition(long Version, long ReceiptSeq, long RefundSeq, Guid? Token, long BatchSeq = 0);

/// <summary>
/// One commit of one store, prepared in memory and nothing else: it numbers sales and refunds from
/// the position it continues from and draws stock FIFO on copies of the stock as the batches before
/// it left it (<c>stockAtTip</c>), so the store's memory changes only once the commit has landed.
/// Pure: no database, no grain; unit-tested on its own.
/// </summary>
public sealed class StoreBatch(Guid storeId, LedgerPosition from, Func<Guid, StockState?> stockAtTip)
{
    public LedgerPosition From { get; } = from;
    public Guid Token { get; } = Guid.CreateVersion7();
    public long ReceiptSeq { get; private set; } = from.ReceiptSeq;
    public long RefundSeq { get; private set; } = from.RefundSeq;
    public long BatchSeq { get; private set; } = from.BatchSeq;
    /// <summary>Where the store stands once this batch commits.</summary>
    public LedgerPosition To => new(From.Version + 1, ReceiptSeq, RefundSeq, Token, BatchSeq);

    public readonly Dictionary<Guid, StockState> Stock = [];
    /// <summary>Variants whose stock_levels row this batch creates (the others it updates).</summary>
    private readonly HashSet<Guid> _newLevels = [];
    public readonly List<NewStockBatch> NewBatches = [];
    public readonly List<StockMovement> Movements = [];
    /// <summary>Receipts (sales and refunds) to write, with the request hash each id's replay must match.</summary>
    public readonly List<(Receipt Receipt, byte[] RequestHash)> Receipts = [];
    /// <summary>Sales refused on the stock this batch continues from; answered once the batch before commits.</summary>
    public readonly List<(Guid SaleId, SaleResult Result)> Refused = [];
    public readonly List<StockOperationRow> Operations = [];

    /// <summary>
    /// The variant's stock as this batch has it (a copy, made on first touch). Its level row exists
    /// once this batch commits: the batches after it (which commit only after it) update it.
    /// </summary>
    public StockState Working(Guid variantId)
    {
        if (!Stock.TryGetValue(variantId, out var state))
        {
            Stock[variantId] = state = stockAtTip(variantId)?.Clone() ?? new StockState();
            if (!state.Stored)
                _newLevels.Add(variantId);
            state.Stored = true;
        }
        return state;
    }

    /// <summary>
    /// Takes stock out FIFO and journals it; returns the cost of goods. A sale's movement is not
    /// journaled: the stock_movements view derives it from the receipt line, with this unit cost
    /// (cost / quantity, rounded to 4 places half to even, as ledger_unit_cost in 0015 rounds it).
    /// </summary>
    public decimal Take(Guid variantId, decimal quantity, decimal? catalogCost, string kind, Guid? receiptId, string? reference, DateTimeOffset at,
        List<TransferredLot>? lots = null)
    {
        var state = Working(variantId);
        var cost = state.Take(quantity, catalogCost, lots is null ? null : (q, c) => lots.Add(new TransferredLot(variantId, q, c)));
        if (kind != "sale")
            Movements.Add(new StockMovement(variantId, kind, -quantity, quantity == 0 ? null : decimal.Round(cost / quantity, 4), receiptId, reference, at));
        return cost;
    }

    /// <summary>Puts stock in as a new batch; a negative level is made good from it first.</summary>
    public void Put(Guid variantId, decimal quantity, decimal unitCost, string source, string movementKind, Guid? receiptId, string? reference,
        DateTimeOffset at)
    {
        var state = Working(variantId);
        var remaining = state.Quantity < 0 ? Math.Max(0, quantity + state.Quantity) : quantity;
        var batch = new StockBatch(Guid.CreateVersion7(), unitCost, ++BatchSeq) { Remaining = remaining };
        state.Batches.Add(batch);
        state.Quantity += quantity;
        state.LastUnitCost = unitCost;
        NewBatches.Add(new NewStockBatch(batch, variantId, source, quantity, reference, at));
        Movements.Add(new StockMovement(variantId, movementKind, quantity, unitCost, receiptId, reference, at));
    }

    /// <summary>
    /// Numbers a sale and takes its lines out of stock; null when accepted (its receipt is the last
    /// of <see cref="Receipts"/>), else the refusal, also kept in <see cref="Refused"/>.
    /// </summary>
    public SaleResult? Sell(SaleCommand sale, DateTimeOffset now, DateOnly businessDate, bool refuseNegativeStock)
    {
        if (refuseNegativeStock)
        {
            var shortOf = sale.Lines.GroupBy(l => l.VariantId)
                .Select(g => (VariantId: g.Key, Wanted: g.Sum(l => l.Quantity), OnHand: Working(g.Key).Quantity))
                .FirstOrDefault(x => x.Wanted > x.OnHand);
            if (shortOf.VariantId != Guid.Empty)
            {
                var refusal = new SaleResult(SaleOutcome.InsufficientStock,
                    Detail: $"Variant {shortOf.VariantId}: {shortOf.Wanted} wanted, {shortOf.OnHand} on hand, and this store refuses negative stock.",
                    VariantId: shortOf.VariantId);
                Refused.Add((sale.Id, refusal));
                return refusal;
            }
        }

        var lines = new List<ReceiptLine>(sale.Lines.Count);
        for (var i = 0; i < sale.Lines.Count; i++)
        {
            var line = sale.Lines[i];
            var cost = Take(line.VariantId, line.Quantity, line.CatalogCost, "sale", sale.Id, null, now);
            var (_, total) = ReceiptMath.Line(line.Quantity, line.UnitPrice, line.Discount);
            lines.Add(new ReceiptLine(i + 1, line.VariantId, line.Quantity, line.UnitPrice, line.Discount, total, cost, line.Tax, line.Fiscal));
        }

        var seq = ++ReceiptSeq;
        var (subtotal, discountTotal, receiptTotal) = ReceiptMath.Totals(sale.Lines);
        var change = ReceiptMath.Change(receiptTotal, sale.Payments, out _) ?? 0m;
        Receipts.Add((new Receipt(
            sale.Id, ReceiptNumbers.Sale(businessDate, seq), ReceiptKind.Sale, storeId, sale.TerminalId, sale.CashierId,
            sale.CustomerId, null, now, businessDate, lines, subtotal, discountTotal, receiptTotal, sale.Payments, change,
            sale.Note, seq), sale.RequestHash));
        return null;
    }

    /// <summary>
    /// Numbers a refund of <paramref name="original"/> and restocks its lines at what the sale
    /// charged and cost; returns the refund receipt or the refusal. <paramref name="refundedBefore"/>
    /// is what earlier refunds of the sale returned, per variant.
    /// </summary>
    public (Receipt? Refund, SaleResult? Refusal) Refund(RefundCommand refund, Receipt original, IReadOnlyDictionary<Guid, decimal> refundedBefore,
        DateTimeOffset now, DateOnly businessDate)
    {
        var lines = new List<ReceiptLine>();
        foreach (var (line, index) in refund.Lines.Select((l, i) => (l, i)))
        {
            var sold = original.Items.Where(i => i.VariantId == line.VariantId).ToArray();
            var soldQuantity = sold.Sum(i => i.Quantity);
            var already = refundedBefore.GetValueOrDefault(line.VariantId) + refund.Lines.Take(index).Where(l => l.VariantId == line.VariantId).Sum(l => l.Quantity);
            if (soldQuantity == 0 || already + line.Quantity > soldQuantity)
                return (null, new SaleResult(SaleOutcome.RefundExceedsSale, VariantId: line.VariantId,
                    Detail: $"Variant {line.VariantId}: {line.Quantity} to refund, but {soldQuantity} sold and {already} already refunded."));
            // The value is the difference of the rounded shares refunded after and before this line,
            // so any number of partial refunds adds up to exactly the sale's line total, never more
            // (per-line rounding of 500 refunds of 0.001 kg paid out 0.02 each for 0.015 of goods).
            var saleValue = sold.Sum(i => i.LineTotal);
            var unitCost = sold.Sum(i => i.CostOfGoods) / soldQuantity;
            var value = ReceiptMath.Money(saleValue * (already + line.Quantity) / soldQuantity) - ReceiptMath.Money(saleValue * already / soldQuantity);
            var cost = decimal.Round(unitCost * line.Quantity, 4);
            // VAT is reversed the same way: the share of the VAT charged, as a difference of rounded
            // cumulative shares, so refunds in parts never reverse more than was charged.
            var tax = sold[0].Tax is { } charged
                ? charged with { VatAmount = VatRule.RefundedVat(sold.Sum(i => i.Tax?.VatAmount ?? 0m), soldQuantity, already, line.Quantity) }
                : null;
            lines.Add(new ReceiptLine(index + 1, line.VariantId, line.Quantity, sold[0].UnitPrice, Math.Max(0m, ReceiptMath.Money(sold[0].UnitPrice * line.Quantity) - value), value, cost, tax, sold[0].Fiscal));
            Put(line.VariantId, line.Quantity, decimal.Round(unitCost, 4), "refund", "refund", refund.Id, $"refund of {original.ReceiptNumber}", now);
        }

        // Exclusive prices: the VAT reversed is paid back on top of the lines' value.
        var total = lines.Sum(l => l.LineTotal + VatRule.AddedVat(l));
        // No payments given: the refund is paid back in cash (nothing to pay back for free goods:
        // no payment row, as a payment is never zero).
        IReadOnlyList<Payment> payments = refund.Payments.Count > 0 ? refund.Payments : total > 0 ? [new Payment(PaymentMethod.Cash, total)] : [];
        var paid = payments.Sum(p => p.Amount);
        if (paid != total)
            return (null, new SaleResult(SaleOutcome.Invalid, Detail: $"payments: the refund total is {total}, the payments add up to {paid}."));
        var seq = ++RefundSeq;
        var receipt = new Receipt(refund.Id, ReceiptNumbers.Refund(businessDate, seq), ReceiptKind.Refund, storeId, refund.TerminalId,
            refund.CashierId, original.CustomerId, original.Id, now, businessDate, lines,
            lines.Sum(l => l.LineTotal + l.Discount), lines.Sum(l => l.Discount), total, payments, 0m, null, seq);
        Receipts.Add((receipt, refund.RequestHash));
        return (receipt, null);
    }

    /// <summary>What the ledger writer writes for this batch, behind the store's fence.</summary>
    public StoreCommit ToCommit(Guid tenantId, LedgerStatement? extra = null) => new(
        tenantId, storeId,
        new StoreFence(From.Version, From.ReceiptSeq, ReceiptSeq, From.RefundSeq, RefundSeq, From.Token, Token),
        Receipts,
        Operations,
        Movements,
        NewBatches,
        Stock.Select(s => new LevelWrite(s.Key, s.Value.Quantity, s.Value.LastUnitCost, _newLevels.Contains(s.Key))).ToArray(),
        extra is null ? [] : [extra]);
}

public static class ReceiptNumbers
{
    /// <summary>R-YYYYMMDD-NNNN: the store's business date and its sale sequence, widening past 9999.</summary>
    public static string Sale(DateOnly businessDate, long sequence) => $"R-{businessDate:yyyyMMdd}-{sequence:D4}";

    public static string Refund(DateOnly businessDate, long sequence) => $"RF-{businessDate:yyyyMMdd}-{sequence:D4}";
}
