namespace JowiShop.Grains.Abstractions;

/// <summary>A till of a store.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.Terminal")]
public sealed record Terminal(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid StoreId,
    [property: Id(2)] string Name,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset UpdatedAt);

/// <summary>Store fields as a write sets them (validated by the API); null: not set (tenant default applies).</summary>
[GenerateSerializer, Immutable, Alias("jowishop.StoreFields")]
public sealed record StoreFields(
    [property: Id(0)] string Name,
    [property: Id(1)] string? Address,
    [property: Id(2)] string? Phone,
    [property: Id(3)] string? TimeZone,
    [property: Id(4)] bool? AllowNegativeStock);

/// <summary>What a store grain needs of its store on every commit: kept by the tenant grain, never stale.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.StoreConfig")]
public sealed record StoreConfig(
    [property: Id(0)] bool Exists,
    [property: Id(1)] string TimeZone,
    [property: Id(2)] bool RefuseNegativeStock);

/// <summary>
/// What a store grain needs to judge and price a batch of sales, in one call: its config, its live
/// terminals, the tenant's discount limits, and the catalog changes since the cursor it holds.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.StoreSalesConfig")]
public sealed record StoreSalesConfig(
    [property: Id(0)] StoreConfig Store,
    [property: Id(1)] IReadOnlyList<Guid> Terminals,
    [property: Id(2)] DiscountLimits DiscountLimits,
    [property: Id(3)] Catalog.CatalogChanges Catalog,
    // The tenant's taxes when they changed since the token the store sent (null: keep what it holds).
    [property: Id(4)] SalesTaxes? Taxes = null);

public enum DirectoryOutcome { Ok, NotFound, StoreNotFound, StoreHasTerminals }

[GenerateSerializer, Immutable, Alias("jowishop.DirectoryWrite`1")]
public sealed record DirectoryWrite<T>([property: Id(0)] DirectoryOutcome Outcome, [property: Id(1)] T? Value = default);
