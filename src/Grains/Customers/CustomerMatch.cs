using JowiShop.Grains.Abstractions.Search;

namespace JowiShop.Grains.Customers;

/// <summary>
/// How a query matches a customer, for the customer list's filter and for global search: the
/// name's search key contains it, the email starts with it, or the phone contains its digits
/// (3 or more). Rank 0 = exact (name, email or phone), 1 = name prefix, 2 = any other match,
/// -1 = no match.
/// </summary>
internal readonly struct CustomerMatch(string query)
{
    private readonly string _key = SearchKey.Of(query.Trim());
    private readonly string? _digits = SearchKey.PhoneDigits(query);
    private string? Phone => _digits is null ? null : "+" + _digits;

    public int Rank(string nameKey, string? email, string? phone)
    {
        var inName = nameKey.Contains(_key, StringComparison.Ordinal);
        var byEmail = email is not null && email.StartsWith(_key, StringComparison.Ordinal);
        var byPhone = _digits is not null && phone is not null && phone.Contains(_digits, StringComparison.Ordinal);
        if (!inName && !byEmail && !byPhone)
            return -1;
        if (nameKey == _key || email == _key || (byPhone && phone == Phone))
            return 0;
        return nameKey.StartsWith(_key, StringComparison.Ordinal) ? 1 : 2;
    }
}
