namespace JowiShop.Grains.Abstractions.Sales;

/// <summary>A line as the till sent it: the store grain prices it from the catalog (a manager may set the unit price).</summary>
[GenerateSerializer, Immutable, Alias("jowishop.SaleItem")]
public sealed record SaleItem(
    [property: Id(0)] Guid VariantId,
    [property: Id(1)] decimal Quantity,
    [property: Id(2)] decimal? UnitPrice,
    [property: Id(3)] decimal? Discount);

/// <summary>
/// A sale whose shape the API has validated but which is not yet priced: the store grain checks the
/// terminal and customer, prices the lines from its catalog cache and judges the discounts, then
/// sells it as a <see cref="SaleCommand"/>. One grain call per sale.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.SaleOrder")]
public sealed record SaleOrder(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid TerminalId,
    [property: Id(2)] Guid CashierId,
    [property: Id(3)] string CashierRole,
    [property: Id(4)] Guid? CustomerId,
    [property: Id(5)] IReadOnlyList<SaleItem> Items,
    [property: Id(6)] IReadOnlyList<Payment> Payments,
    [property: Id(7)] string? Note,
    [property: Id(8)] byte[] RequestHash);
