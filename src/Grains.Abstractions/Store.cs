namespace JowiShop.Grains.Abstractions;

/// <summary>A store (a shop) of a tenant, as the back office and tills see it.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.Store")]
public sealed record Store(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string? Address,
    [property: Id(3)] string? Phone,
    [property: Id(4)] string? TimeZone,
    [property: Id(5)] bool? AllowNegativeStock,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] DateTimeOffset UpdatedAt);
