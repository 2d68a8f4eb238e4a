namespace JowiShop.Grains.Abstractions;

/// <summary>One page of a list, in a stable order.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.ListPage`1")]
public sealed record ListPage<T>(
    [property: Id(0)] IReadOnlyList<T> Items,
    [property: Id(1)] int Page,
    [property: Id(2)] int Limit,
    [property: Id(3)] long Total);

/// <summary>A validated page request: page from 1, limit 1 to 100.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.PageRequest")]
public readonly record struct PageRequest([property: Id(0)] int Page, [property: Id(1)] int Limit)
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;

    /// <summary>Rows to skip, in <c>long</c>: page 21,474,838 of 100 is past <c>int</c> (and is simply an empty page).</summary>
    public long Offset => (Page - 1L) * Limit;

    /// <summary>The offset as a count to skip in a list of <paramref name="count"/> items (never past its end).</summary>
    public int SkipIn(int count) => (int)Math.Min(Offset, count);
}
