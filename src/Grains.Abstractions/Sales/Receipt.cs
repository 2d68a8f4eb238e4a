namespace JowiShop.Grains.Abstractions.Sales;

public enum PaymentMethod { Cash, Card, Transfer, Other }

public enum ReceiptKind { Sale, Refund }

[GenerateSerializer, Immutable, Alias("jowishop.Payment")]
public sealed record Payment([property: Id(0)] PaymentMethod Method, [property: Id(1)] decimal Amount);

/// <summary>A receipt line as recorded: money rounded to 2 decimals, cost of goods from the FIFO batches consumed.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.ReceiptLine")]
public sealed record ReceiptLine(
    [property: Id(0)] int LineNo,
    [property: Id(1)] Guid VariantId,
    [property: Id(2)] decimal Quantity,
    [property: Id(3)] decimal UnitPrice,
    [property: Id(4)] decimal Discount,
    [property: Id(5)] decimal LineTotal,
    [property: Id(6)] decimal CostOfGoods,
    // Null: no VAT information (the tenant is not a VAT payer, or the receipt predates taxes).
    [property: Id(7)] LineTax? Tax = null,
    // The variant's fiscal codes as sold (IKPU, package and unit codes, marked); null when it had none.
    [property: Id(8)] FiscalCodes? Fiscal = null);

/// <summary>A committed receipt: what POST /receipts answers and what a replay of its id answers again.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.Receipt")]
public sealed record Receipt(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string ReceiptNumber,
    [property: Id(2)] ReceiptKind Kind,
    [property: Id(3)] Guid StoreId,
    [property: Id(4)] Guid TerminalId,
    [property: Id(5)] Guid CashierId,
    [property: Id(6)] Guid? CustomerId,
    [property: Id(7)] Guid? RefundOf,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] DateOnly BusinessDate,
    [property: Id(10)] IReadOnlyList<ReceiptLine> Items,
    [property: Id(11)] decimal Subtotal,
    [property: Id(12)] decimal DiscountTotal,
    [property: Id(13)] decimal Total,
    [property: Id(14)] IReadOnlyList<Payment> Payments,
    [property: Id(15)] decimal Change,
    [property: Id(16)] string? Note,
    [property: Id(17)] long SequenceNo)
{
    /// <summary>Net, VAT and gross per rate, summed from the lines (so they agree with them exactly); empty without VAT.</summary>
    public IReadOnlyList<TaxTotal> Taxes => VatRule.Totals(Items);

    /// <summary>The receipt's VAT: the sum of its lines' (null when no line carries VAT information).</summary>
    public decimal? VatTotal => Items.Any(i => i.Tax is not null) ? Items.Sum(i => i.Tax?.VatAmount ?? 0m) : null;
}
