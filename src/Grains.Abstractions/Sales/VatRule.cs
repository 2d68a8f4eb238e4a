namespace JowiShop.Grains.Abstractions.Sales;

/// <summary>The rate a receipt line was charged and its VAT: a copy, so a later rate change never alters a receipt.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.LineTax")]
public sealed record LineTax(
    [property: Id(0)] Guid RateId,
    [property: Id(1)] string RateName,
    // Null: exempt (no VAT, shown as exempt on a fiscal receipt, unlike 0%).
    [property: Id(2)] decimal? Percent,
    [property: Id(3)] decimal VatAmount,
    // True: prices exclude VAT, so the VAT is added to the line; false: the line total includes it.
    [property: Id(4)] bool Exclusive)
{
    public bool Exempt => Percent is null;
}

/// <summary>A receipt's figures for one rate: net + VAT = gross, exactly the sums of its lines.</summary>
public sealed record TaxTotal(Guid RateId, string RateName, decimal? Percent, bool Exempt, decimal Net, decimal VatAmount, decimal Gross);

/// <summary>
/// The one rounding rule of VAT, per line, half away from zero to the tiyin:
/// inclusive prices: VAT = round(lineTotal × p / (100 + p), 2); exclusive: VAT = round(lineTotal × p / 100, 2),
/// added to the line. Exempt and 0% lines carry 0. Per-rate totals are sums of the lines, so they agree
/// with the lines by construction. Decimal arithmetic only.
/// </summary>
public static class VatRule
{
    // "+ 0.00m" gives every amount 2 decimals, so an answer and the same receipt read back from its row agree to the digit.
    public static decimal Vat(decimal lineTotal, decimal? percent, bool exclusive) => percent is not { } p || p == 0m
        ? 0.00m
        : ReceiptMath.Money(exclusive ? lineTotal * p / 100m : lineTotal * p / (100m + p)) + 0.00m;

    public static LineTax Charge(decimal lineTotal, TaxRate rate, TaxRateVersion version, bool exclusive) =>
        new(rate.Id, rate.Name, version.Percent, Vat(lineTotal, version.Percent, exclusive), exclusive);

    /// <summary>What a line adds to the receipt total beyond its line total: the VAT of exclusive prices.</summary>
    public static decimal AddedVat(ReceiptLine line) => line.Tax is { Exclusive: true } tax ? tax.VatAmount : 0m;

    /// <summary>
    /// The VAT a refund of <paramref name="quantity"/> (after <paramref name="refundedBefore"/> of <paramref name="sold"/>)
    /// reverses: the difference of the rounded shares after and before it, so any number of partial refunds
    /// reverses exactly the VAT charged, never more.
    /// </summary>
    public static decimal RefundedVat(decimal vatCharged, decimal sold, decimal refundedBefore, decimal quantity) =>
        ReceiptMath.Money(vatCharged * (refundedBefore + quantity) / sold) - ReceiptMath.Money(vatCharged * refundedBefore / sold) + 0.00m;

    /// <summary>Per-rate totals of lines, in order of first appearance; lines without tax (not a VAT payer, old receipts) are left out.</summary>
    public static IReadOnlyList<TaxTotal> Totals(IEnumerable<ReceiptLine> lines)
    {
        var totals = new List<TaxTotal>();
        foreach (var line in lines)
        {
            if (line.Tax is not { } tax)
                continue;
            var gross = tax.Exclusive ? line.LineTotal + tax.VatAmount : line.LineTotal;
            var index = totals.FindIndex(t => t.RateId == tax.RateId && t.Percent == tax.Percent);
            if (index < 0)
                totals.Add(new TaxTotal(tax.RateId, tax.RateName, tax.Percent, tax.Exempt, gross - tax.VatAmount, tax.VatAmount, gross));
            else
                totals[index] = totals[index] with
                {
                    Net = totals[index].Net + gross - tax.VatAmount,
                    VatAmount = totals[index].VatAmount + tax.VatAmount,
                    Gross = totals[index].Gross + gross,
                };
        }
        return totals;
    }
}
