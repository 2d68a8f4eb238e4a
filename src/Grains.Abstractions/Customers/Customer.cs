namespace JowiShop.Grains.Abstractions.Customers;

/// <summary>A customer of a tenant (loyalty card holder, invoice recipient).</summary>
[GenerateSerializer, Immutable, Alias("jowishop.Customer")]
public sealed record Customer(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string? Phone,
    [property: Id(3)] string? Email,
    [property: Id(4)] string? CardCode,
    [property: Id(5)] string? Notes,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] DateTimeOffset UpdatedAt);

/// <summary>The customer fields a write sets, already validated and normalized; null fields are stored as null.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.CustomerFields")]
public sealed record CustomerFields(
    [property: Id(0)] string Name,
    [property: Id(1)] string? Phone,
    [property: Id(2)] string? Email,
    [property: Id(3)] string? CardCode,
    [property: Id(4)] string? Notes);

public enum CustomerConflict { None, Phone, Card }

/// <summary>
/// The outcome of a customer write: the customer as stored, or the unique field another live
/// customer holds (and who), or neither when the customer does not exist.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.CustomerWrite")]
public sealed record CustomerWrite(
    [property: Id(0)] Customer? Customer,
    [property: Id(1)] CustomerConflict Conflict = CustomerConflict.None,
    [property: Id(2)] Guid? ConflictingId = null);
