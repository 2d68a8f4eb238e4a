using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Sales;

namespace JowiShop.Grains.Sales;

/// <summary>
/// Judges and prices a sale order, pure: the terminal, the customer, each line against its catalog
/// price (for sale, whole pieces, the discount within the line), the role's discount limit, the
/// amounts the database can hold and the payments. The refusals are the API's own answers (fields,
/// wording, order), which it only maps to HTTP.
/// </summary>
public static class SalePricing
{
    /// <summary>numeric(14,2): a receipt that cannot be stored is refused here, not at the commit of the sales grouped with it.</summary>
    public const decimal MaxMoney = 999_999_999_999.99m;

    /// <summary>The priced sale, or the refusal (Invalid, DiscountForbidden) with a null sale.</summary>
    public static (SaleCommand? Sale, SaleResult? Refusal) Price(SaleOrder order, Guid storeId, IReadOnlyList<Guid> terminals,
        bool customerExists, IReadOnlyDictionary<Guid, CatalogPrice> catalog, DiscountLimits limits, SalesTaxes? taxes = null,
        DateOnly businessDate = default)
    {
        if (!terminals.Contains(order.TerminalId))
            return Invalid(new SaleFieldError("terminalId", $"terminal {order.TerminalId} is not a terminal of store {storeId}"));
        if (order.CustomerId is { } customerId && !customerExists)
            return Invalid(new SaleFieldError("customerId", $"customer {customerId} does not exist"));

        var errors = new List<SaleFieldError>();
        var lines = new List<SaleLine>(order.Items.Count);
        for (var i = 0; i < order.Items.Count; i++)
        {
            var item = order.Items[i];
            if (!catalog.TryGetValue(item.VariantId, out var variant))
            {
                errors.Add(new($"items[{i}].variantId", $"variant {item.VariantId} does not exist or was deleted"));
                continue;
            }
            if (!variant.ForSale)
                errors.Add(new($"items[{i}].variantId", $"variant {item.VariantId} is not for sale (inactive)"));
            // Only weighed and measured goods sell in fractions; the unit is known only once the variant is.
            if (variant.Unit == VariantUnit.Piece && !decimal.IsInteger(item.Quantity))
                errors.Add(new($"items[{i}].quantity", "must be a whole number: the variant is sold by the piece"));
            var unitPrice = item.UnitPrice ?? variant.Price;
            var discount = item.Discount ?? 0m;
            if (discount > ReceiptMath.Line(item.Quantity, unitPrice, 0).Gross)
                errors.Add(new($"items[{i}].discount", "may not exceed the line's price times quantity"));
            lines.Add(new SaleLine(item.VariantId, item.Quantity, unitPrice, discount, variant.Cost,
                Tax(taxes, variant, ReceiptMath.Line(item.Quantity, unitPrice, discount).Total, businessDate), variant.Fiscal));
        }
        if (errors.Count > 0)
            return Invalid([.. errors]);
        if (DiscountRefusal(lines, catalog, order.CashierRole, limits) is { } forbidden)
            return (null, forbidden);

        var (subtotal, _, total) = ReceiptMath.Totals(lines);
        if (subtotal > MaxMoney)
            errors.Add(new("items", $"the receipt's subtotal exceeds {MaxMoney}"));
        if (order.Payments.Sum(p => p.Amount) > MaxMoney)
            errors.Add(new("payments", $"the payments add up to more than {MaxMoney}"));
        if (errors.Count > 0)
            return Invalid([.. errors]);
        if (ReceiptMath.Change(total, order.Payments, out var paymentProblem) is null)
            return Invalid(new SaleFieldError("payments", paymentProblem!));

        return (new SaleCommand(order.Id, order.TerminalId, order.CashierId, order.CustomerId, lines, order.Payments, order.Note,
            order.RequestHash), null);
    }

    /// <summary>
    /// Null when every line's reduction is within the role's limit (percent of the line's catalog price
    /// times quantity); the reduction is what the line sells below its catalog price, by discount or by
    /// a manager's lower unitPrice alike. The owner is not limited.
    /// </summary>
    private static SaleResult? DiscountRefusal(List<SaleLine> lines, IReadOnlyDictionary<Guid, CatalogPrice> catalog, string role,
        DiscountLimits limits)
    {
        if (role == Roles.Owner)
            return null;
        for (var i = 0; i < lines.Count; i++)
        {
            var catalogGross = ReceiptMath.Line(lines[i].Quantity, catalog[lines[i].VariantId].Price, 0).Gross;
            var reduction = catalogGross - ReceiptMath.Line(lines[i].Quantity, lines[i].UnitPrice, lines[i].Discount).Total;
            if (reduction <= 0m)
                continue;
            var limit = limits.For(role);
            // Compared as reduction * 100 <= gross * limit: exact in decimals, no division.
            if (reduction * 100m > catalogGross * limit)
                return new SaleResult(SaleOutcome.DiscountForbidden,
                    Detail: $"items[{i}]: a {role} may sell at most {limit}% below the catalog price (tenant setting maxDiscountPercent.{role}).",
                    Line: i, MaxDiscountPercent: limit);
        }
        return null;
    }

    /// <summary>
    /// The line's rate and VAT (<see cref="VatRule"/>), by the version in force on the business date; null
    /// when the tenant is not a VAT payer (its receipts carry no VAT), or no rate is in force.
    /// </summary>
    public static LineTax? Tax(SalesTaxes? taxes, CatalogPrice variant, decimal lineTotal, DateOnly businessDate)
    {
        if (taxes is not { Settings.VatPayer: true })
            return null;
        var rate = taxes.RateOf(variant.TaxRateId, variant.CategoryId);
        // A rate whose first version starts later is not in force yet: the tenant default applies meanwhile.
        if (rate?.On(businessDate) is not { } version)
        {
            rate = taxes.Settings.Rate(taxes.Settings.DefaultRateId);
            if (rate?.On(businessDate) is not { } fallback)
                return null;
            version = fallback;
        }
        return VatRule.Charge(lineTotal, rate, version, taxes.Settings.Prices == TaxPricing.Exclusive);
    }

    private static (SaleCommand?, SaleResult?) Invalid(params SaleFieldError[] errors) =>
        (null, new SaleResult(SaleOutcome.Invalid, Errors: errors));
}
