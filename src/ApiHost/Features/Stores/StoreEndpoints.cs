using System.Security.Claims;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Features.Stores;

public static class StoreEndpoints
{
    public static RouteGroupBuilder MapStoreEndpoints(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/stores").WithTags("Stores").RequireAuthorization(Policies.Staff);
        group.MapGet("/", ListStores).WithSummary("The tenant's stores, by name.");
        group.MapGet("/{id:guid}", GetStore).WithName("GetStore").WithSummary("One store of the tenant.");
        return api;
    }

    private static async Task<Results<Ok<ListPage<Store>>, ValidationProblem>> ListStores(
        int? page, int? limit, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Paging.TryCreate(page, limit, out var request, out var errors))
            return ApiProblems.Validation(errors);
        return TypedResults.Ok(await grains.GetGrain<ITenantGrain>(user.GetTenantId()).ListStoresAsync(request));
    }

    private static async Task<Results<Ok<Store>, ProblemHttpResult>> GetStore(Guid id, ClaimsPrincipal user, IGrainFactory grains)
    {
        var store = await grains.GetGrain<ITenantGrain>(user.GetTenantId()).GetStoreAsync(id);
        return store is null
            ? ApiProblems.NotFound("store.not_found", $"Store {id} does not exist.")
            : TypedResults.Ok(store);
    }
}
