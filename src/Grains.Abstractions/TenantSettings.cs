namespace JowiShop.Grains.Abstractions;

/// <summary>What a sale does when it takes more than the store has on hand.</summary>
public enum NegativeStockPolicy
{
    /// <summary>The sale goes through and the level goes negative: a till must not stop.</summary>
    Allow,
    /// <summary>The sale is refused with 409.</summary>
    Refuse,
}

/// <summary>
/// A tenant's settings: a document, kept through the ADO.NET grain storage provider.
/// Stores inherit the time zone and negative-stock policy unless they set their own.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.TenantSettings")]
public sealed record TenantSettings(
    [property: Id(0)] string Currency,
    [property: Id(1)] string TimeZone,
    [property: Id(2)] NegativeStockPolicy NegativeStock,
    // Null in documents stored before discount limits existed: read as the defaults.
    [property: Id(3)] DiscountLimits? MaxDiscountPercent = null)
{
    public static readonly TenantSettings Default = new("UZS", "Asia/Tashkent", NegativeStockPolicy.Allow, DiscountLimits.Default);

    // Derived from MaxDiscountPercent: not a second field of the answer.
    [System.Text.Json.Serialization.JsonIgnore]
    public DiscountLimits DiscountLimits => MaxDiscountPercent ?? DiscountLimits.Default;
}

/// <summary>
/// The largest discount, in percent of a line's price times quantity, each role may give; the owner
/// is not limited. Cashiers default to 0: a discount is a price decision, and cashier-given
/// discounts are the classic way goods leave a shop unpaid; an owner who wants them raises it.
/// Managers and admins may override prices anyway, so their default is 100.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.DiscountLimits")]
public sealed record DiscountLimits(
    [property: Id(0)] decimal Cashier,
    [property: Id(1)] decimal Manager,
    [property: Id(2)] decimal Admin)
{
    public static readonly DiscountLimits Default = new(0m, 100m, 100m);

    public decimal For(string role) => role switch
    {
        Roles.Owner => 100m,
        Roles.Admin => Admin,
        Roles.Manager => Manager,
        _ => Cashier,
    };
}
