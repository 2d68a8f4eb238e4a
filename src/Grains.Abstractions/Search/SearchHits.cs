using System.Text.RegularExpressions;

namespace JowiShop.Grains.Abstractions.Search;

[GenerateSerializer, Immutable, Alias("jowishop.ProductHit")]
public sealed record ProductHit([property: Id(0)] Guid Id, [property: Id(1)] string Name, [property: Id(2)] bool Active, [property: Id(3)] string MatchedBy);

[GenerateSerializer, Immutable, Alias("jowishop.CustomerHit")]
public sealed record CustomerHit([property: Id(0)] Guid Id, [property: Id(1)] string Name, [property: Id(2)] string? Phone, [property: Id(3)] string? Email);

[GenerateSerializer, Immutable, Alias("jowishop.StoreHit")]
public sealed record StoreHit([property: Id(0)] Guid Id, [property: Id(1)] string Name);

/// <summary>
/// The form names are matched in: lower case (any script) with the apostrophes Uzbek Latin is
/// typed with (‘ ’ ʻ ʼ `) folded to ', so "go'sht" finds "Goʻsht". The same rule as the
/// database's search_key() function.
/// </summary>
public static partial class SearchKey
{
    public static string Of(string text) => Apostrophes().Replace(text.ToLowerInvariant(), "'");

    /// <summary>The query's ASCII digits when there are 3 or more (phone matching), else null.</summary>
    public static string? PhoneDigits(string query)
    {
        var digits = new string(query.Where(char.IsAsciiDigit).ToArray());
        return digits.Length >= 3 ? digits : null;
    }

    [GeneratedRegex("[‘’ʻʼ`]")]
    private static partial Regex Apostrophes();
}
