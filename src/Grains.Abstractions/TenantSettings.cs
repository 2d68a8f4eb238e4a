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
    [property: Id(2)] NegativeStockPolicy NegativeStock)
{
    public static readonly TenantSettings Default = new("UZS", "Asia/Tashkent", NegativeStockPolicy.Allow);
}
