using JowiShop.Grains.Abstractions;

namespace JowiShop.ApiHost.Infrastructure;

public static class Paging
{
    /// <summary>Reads page (from 1) and limit (1 to 100, default 20), or names what is wrong.</summary>
    public static bool TryCreate(int? page, int? limit, out PageRequest request, out FieldErrors errors)
    {
        errors = new FieldErrors()
            .Require(page is null or >= 1, "page", "must be 1 or more")
            .Require(limit is null or (>= 1 and <= PageRequest.MaxLimit), "limit", $"must be 1 to {PageRequest.MaxLimit}");
        request = new PageRequest(page ?? 1, limit ?? PageRequest.DefaultLimit);
        return !errors.Any;
    }
}
