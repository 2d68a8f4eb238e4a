using System.Security.Cryptography;
using System.Text;

namespace JowiShop.Grains.Abstractions;

/// <summary>How catalog prices relate to VAT: inclusive (the default, as shops in Uzbekistan price) or VAT added on top.</summary>
public enum TaxPricing { Inclusive, Exclusive }

/// <summary>A rate's value from a business date on: a percent, or null for an exempt supply.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.TaxRateVersion")]
public sealed record TaxRateVersion(
    [property: Id(0)] DateOnly EffectiveFrom,
    [property: Id(1)] decimal? Percent)
{
    public bool Exempt => Percent is null;
}

/// <summary>A named tax rate with its history, oldest first; the version in force on a date is the last one starting on or before it.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.TaxRate")]
public sealed record TaxRate(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] IReadOnlyList<TaxRateVersion> History)
{
    /// <summary>The version in force on <paramref name="date"/>; null before the rate's first version.</summary>
    public TaxRateVersion? On(DateOnly date)
    {
        TaxRateVersion? found = null;
        foreach (var version in History)
            if (version.EffectiveFrom <= date)
                found = version;
        return found;
    }
}

/// <summary>
/// A tenant's taxes: whether it pays VAT (micro-businesses on turnover tax do not), whether its prices
/// include VAT, its rates and the default rate of variants whose own and whose category's rate is unset.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.TaxSettings")]
public sealed record TaxSettings(
    [property: Id(0)] bool VatPayer,
    [property: Id(1)] TaxPricing Prices,
    [property: Id(2)] Guid DefaultRateId,
    [property: Id(3)] IReadOnlyList<TaxRate> Rates)
{
    /// <summary>
    /// A new tenant's taxes: standard 12% (the default), 0% and exempt, in force since always. Their ids
    /// are derived from the tenant id, so the defaults are the same on every read until first changed.
    /// </summary>
    public static TaxSettings Defaults(Guid tenantId)
    {
        var standard = DerivedRateId(tenantId, "standard");
        return new TaxSettings(true, TaxPricing.Inclusive, standard,
        [
            new TaxRate(standard, "VAT 12%", [new TaxRateVersion(DateOnly.MinValue, 12m)]),
            new TaxRate(DerivedRateId(tenantId, "zero"), "VAT 0%", [new TaxRateVersion(DateOnly.MinValue, 0m)]),
            new TaxRate(DerivedRateId(tenantId, "exempt"), "Exempt", [new TaxRateVersion(DateOnly.MinValue, null)]),
        ]);
    }

    public TaxRate? Rate(Guid id)
    {
        foreach (var rate in Rates)
            if (rate.Id == id)
                return rate;
        return null;
    }

    private static Guid DerivedRateId(Guid tenantId, string name)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"jowishop.tax-rate/{tenantId:D}/{name}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8 (custom), RFC 9562
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}

/// <summary>A category's place in the rate inheritance: its parent and its own rate (null: inherited).</summary>
[GenerateSerializer, Immutable, Alias("jowishop.CategoryTax")]
public readonly record struct CategoryTax([property: Id(0)] Guid? ParentId, [property: Id(1)] Guid? TaxRateId);

/// <summary>
/// What a store grain prices tax by, from the tenant grain's memory: the settings and each category's
/// rate. <see cref="Token"/> is new with every change (and every tenant grain activation), so a store
/// that sends the token it holds gets nothing back unless something changed.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.SalesTaxes")]
public sealed record SalesTaxes(
    [property: Id(0)] Guid Token,
    [property: Id(1)] TaxSettings Settings,
    [property: Id(2)] IReadOnlyDictionary<Guid, CategoryTax> Categories)
{
    /// <summary>
    /// The rate a variant sells at: its own, else its category's (walking up to the root), else the tenant
    /// default. A rate id no longer among the tenant's rates falls through to the next.
    /// </summary>
    public TaxRate? RateOf(Guid? variantRateId, Guid? categoryId)
    {
        if (variantRateId is { } own && Settings.Rate(own) is { } rate)
            return rate;
        // Bounded walk: a cycle is refused by the category API, but a bound costs nothing.
        for (var (id, steps) = (categoryId, 0); id is { } c && steps < 64 && Categories.TryGetValue(c, out var category); id = category.ParentId, steps++)
            if (category.TaxRateId is { } inherited && Settings.Rate(inherited) is { } categoryRate)
                return categoryRate;
        return Settings.Rate(Settings.DefaultRateId);
    }
}

public enum TaxWriteOutcome { Ok, NotFound, DefaultRateNotFound, NameTaken }

[GenerateSerializer, Immutable, Alias("jowishop.TaxWrite")]
public sealed record TaxWrite(
    [property: Id(0)] TaxWriteOutcome Outcome,
    [property: Id(1)] TaxSettings? Settings = null,
    [property: Id(2)] TaxRate? Rate = null);
