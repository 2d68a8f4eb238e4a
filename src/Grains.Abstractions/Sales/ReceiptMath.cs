namespace JowiShop.Grains.Abstractions.Sales;

/// <summary>Totals of a sale: pure arithmetic shared by the API's validation and the store grain.</summary>
public static class ReceiptMath
{
    public static decimal Money(decimal value) => decimal.Round(value, 2, MidpointRounding.AwayFromZero);

    /// <summary>The line's gross (price x quantity, rounded to the cent) and its total after the discount.</summary>
    public static (decimal Gross, decimal Total) Line(decimal quantity, decimal unitPrice, decimal discount)
    {
        var gross = Money(quantity * unitPrice);
        return (gross, gross - discount);
    }

    public static (decimal Subtotal, decimal DiscountTotal, decimal Total) Totals(IEnumerable<SaleLine> lines)
    {
        decimal subtotal = 0, discounts = 0, addedVat = 0;
        foreach (var line in lines)
        {
            subtotal += Line(line.Quantity, line.UnitPrice, line.Discount).Gross;
            discounts += line.Discount;
            // Exclusive prices: the VAT comes on top of the lines (inclusive VAT is inside them).
            if (line.Tax is { Exclusive: true } tax)
                addedVat += tax.VatAmount;
        }
        return (subtotal, discounts, subtotal - discounts + addedVat);
    }

    /// <summary>
    /// Payments must cover the total. Card, transfer and other may not exceed it; cash may, and
    /// the excess (never more than the cash given) is returned as change. Null when they do not fit.
    /// </summary>
    public static decimal? Change(decimal total, IEnumerable<Payment> payments, out string? problem)
    {
        decimal cash = 0, other = 0;
        foreach (var payment in payments)
        {
            if (payment.Method == PaymentMethod.Cash) cash += payment.Amount;
            else other += payment.Amount;
        }
        problem = null;
        if (other > total)
            problem = $"card, transfer and other payments ({other}) exceed the total ({total}); only cash may exceed it";
        else if (cash + other < total)
            problem = $"payments ({cash + other}) do not cover the total ({total})";
        return problem is null ? cash + other - total : null;
    }
}
