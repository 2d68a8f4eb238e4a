namespace JowiShop.Grains.Abstractions.Catalog;

/// <summary>
/// A point in a tenant's catalog changes: the tenant grain activation's epoch (a reactivation starts a
/// new one, so positions of two activations can never be mistaken for each other) and the number of
/// variant changes it has recorded.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.CatalogCursor")]
public readonly record struct CatalogCursor(
    [property: Id(0)] Guid Epoch,
    [property: Id(1)] long Position);

/// <summary>
/// The catalog changes since a cursor: the variants changed (committed) after it, or null when the
/// change log no longer reaches back that far or the cursor is of another epoch: then everything
/// cached may be stale.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.CatalogChanges")]
public sealed record CatalogChanges(
    [property: Id(0)] CatalogCursor Cursor,
    [property: Id(1)] IReadOnlyList<Guid>? Changed);
