using JowiShop.Grains.Abstractions.Catalog;

namespace JowiShop.Grains.Catalog;

/// <summary>
/// The tenant's catalog cursor and a bounded log of the variants changed at each position, kept by
/// the tenant grain in memory. Each recorded variant takes one position; the log holds the last
/// <see cref="Capacity"/>. A new instance (a new tenant grain activation) has a new epoch, so a
/// cursor of an earlier activation is never read as a position of this one.
/// </summary>
public sealed class CatalogChangeLog(int capacity = CatalogChangeLog.DefaultCapacity)
{
    public const int DefaultCapacity = 4096;

    private readonly Guid[] _entries = new Guid[capacity];

    public Guid Epoch { get; } = Guid.NewGuid();

    public long Position { get; private set; }

    public int Capacity => _entries.Length;

    public CatalogCursor Cursor => new(Epoch, Position);

    /// <summary>Records committed changes to these variants; returns the cursor after them.</summary>
    public CatalogCursor Record(IReadOnlyList<Guid> variantIds)
    {
        foreach (var variantId in variantIds)
            _entries[Position++ % _entries.Length] = variantId;
        return Cursor;
    }

    /// <summary>The variants changed after <paramref name="since"/>, or null (everything) when the log cannot tell.</summary>
    public CatalogChanges Since(CatalogCursor since)
    {
        if (since.Epoch != Epoch || since.Position > Position || Position - since.Position > _entries.Length)
            return new CatalogChanges(Cursor, null);
        if (since.Position == Position)
            return new CatalogChanges(Cursor, []);
        var changed = new HashSet<Guid>();
        for (var p = since.Position; p < Position; p++)
            changed.Add(_entries[p % _entries.Length]);
        return new CatalogChanges(Cursor, changed.ToArray());
    }
}
