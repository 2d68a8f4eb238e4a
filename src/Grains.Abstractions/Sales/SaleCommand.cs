namespace JowiShop.Grains.Abstractions.Sales;

/// <summary>A priced line the API has validated: the catalog price (or a manager's override) and the line discount.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.SaleLine")]
public sealed record SaleLine(
    [property: Id(0)] Guid VariantId,
    [property: Id(1)] decimal Quantity,
    [property: Id(2)] decimal UnitPrice,
    [property: Id(3)] decimal Discount,
    [property: Id(4)] decimal? CatalogCost,
    // The rate and VAT the store grain priced the line with; null: no VAT (not a VAT payer, or priced by the caller).
    [property: Id(5)] LineTax? Tax = null,
    // The variant's fiscal codes as sold; null when it has none.
    [property: Id(6)] FiscalCodes? Fiscal = null);

/// <summary>
/// A sale for the store grain to number, take out of stock and commit. <see cref="RequestHash"/>
/// identifies the request body, so that a replay of the same <see cref="Id"/> with another body is refused.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.SaleCommand")]
public sealed record SaleCommand(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid TerminalId,
    [property: Id(2)] Guid CashierId,
    [property: Id(3)] Guid? CustomerId,
    [property: Id(4)] IReadOnlyList<SaleLine> Lines,
    [property: Id(5)] IReadOnlyList<Payment> Payments,
    [property: Id(6)] string? Note,
    [property: Id(7)] byte[] RequestHash);

public enum SaleOutcome
{
    /// <summary>Committed now: answer 201.</summary>
    Created,
    /// <summary>The same id and body were committed before: answer the original receipt again.</summary>
    Replayed,
    /// <summary>The id was used with another body: 409.</summary>
    IdConflict,
    StoreNotFound,
    /// <summary>The store refuses negative stock and a line takes more than is on hand: 409.</summary>
    InsufficientStock,
    /// <summary>A refund would return more of a variant than the sale held, over all its refunds: 409.</summary>
    RefundExceedsSale,
    /// <summary>The request does not fit the data it refers to (a sale's terminal, customer or lines: <see cref="SaleResult.Errors"/>; refund payments that do not add up): 400.</summary>
    Invalid,
    /// <summary>The commit failed (database unreachable, or this activation was fenced off): 503, nothing consumed.</summary>
    Unavailable,
    /// <summary>A line sells further below the catalog price than the cashier's role may (tenant setting): 403.</summary>
    DiscountForbidden,
}

/// <summary>One field's problem in a sale the store grain refused (400), in the API's field and wording.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.SaleFieldError")]
public sealed record SaleFieldError(
    [property: Id(0)] string Field,
    [property: Id(1)] string Message);

[GenerateSerializer, Immutable, Alias("jowishop.SaleResult")]
public sealed record SaleResult(
    [property: Id(0)] SaleOutcome Outcome,
    [property: Id(1)] Receipt? Receipt = null,
    [property: Id(2)] string? Detail = null,
    [property: Id(3)] Guid? VariantId = null,
    // Invalid: the fields refused, in order. DiscountForbidden: the line and the role's limit.
    [property: Id(4)] IReadOnlyList<SaleFieldError>? Errors = null,
    [property: Id(5)] int? Line = null,
    [property: Id(6)] decimal? MaxDiscountPercent = null);
