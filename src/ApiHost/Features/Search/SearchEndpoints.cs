using System.Security.Claims;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Search;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Features.Search;

/// <summary>
/// Global search, answered by the tenant's search index grain from memory in one call. The
/// grains that own products, customers and stores update it before a write answers, so a write
/// is found by the next search from any silo.
/// </summary>
public static class SearchEndpoints
{
    public const int DefaultLimit = 10;
    public const int MaxLimit = 50;

    public static RouteGroupBuilder MapSearchEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/search", Search).WithTags("Search").RequireAuthorization(Policies.Staff)
            .WithSummary("Products (name, SKU or barcode prefix), customers (name, phone digits, email) and stores (name), best matches first.")
            .WithQueryBounds("query", 2, 100, required: true).WithQueryBounds("limit", 1, MaxLimit, DefaultLimit);
        return api;
    }

    private static async Task<Results<Ok<SearchResults>, ValidationProblem>> Search(string? query, int? limit, ClaimsPrincipal user, IGrainFactory grains)
    {
        var trimmed = query?.Trim();
        var errors = new FieldErrors()
            .Require(trimmed is { Length: >= 2 and <= 100 }, "query", "must be 2 to 100 characters")
            .Require(limit is null or (>= 1 and <= MaxLimit), "limit", $"must be 1 to {MaxLimit}");
        if (errors.Any)
            return ApiProblems.Validation(errors);

        return TypedResults.Ok(await grains.Reference<ISearchIndexGrain>(user.GetTenantId()).SearchAsync(trimmed!, limit ?? DefaultLimit));
    }
}
