using System.Security.Claims;
using System.Text.Json.Nodes;
using JowiShop.ApiHost.Features.Tenant;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Features.Stores;

public sealed record StoreRequest(string? Name, string? Address, string? Phone, string? TimeZone, bool? AllowNegativeStock);

public sealed record TerminalRequest(Guid? StoreId, string? Name);

/// <summary>Stores and terminals: every read and write goes through the tenant grain that holds them.</summary>
public static class StoreEndpoints
{
    public const int MaxAddress = 500;

    public static RouteGroupBuilder MapStoreEndpoints(this RouteGroupBuilder api)
    {
        var stores = api.MapGroup("/stores").WithTags("Stores");
        stores.MapGet("/", ListStores).RequireAuthorization(Policies.Staff).WithSummary("The tenant's stores, by name.");
        stores.MapGet("/{id:guid}", GetStore).RequireAuthorization(Policies.Staff).WithSummary("One store of the tenant.")
            .ProducesProblems(404, "store.not_found");
        stores.MapPost("/", CreateStore).RequireAuthorization(Policies.Admin).WithSummary("Open a store.");
        stores.MapPatch("/{id:guid}", UpdateStore).RequireAuthorization(Policies.Admin)
            .WithSummary("Change a store: name, address, phone, timeZone, allowNegativeStock (null: the tenant's setting).")
            .ProducesProblems(404, "store.not_found")
            .AcceptsMergePatch<StoreRequest>(["address", "phone", "timeZone", "allowNegativeStock"]);
        stores.MapDelete("/{id:guid}", DeleteStore).RequireAuthorization(Policies.Admin).WithSummary("Close a store (soft delete); it must have no terminals.")
            .ProducesProblems(404, "store.not_found").ProducesProblems(409, "store.has_terminals");
        stores.MapGet("/{id:guid}/terminals", StoreTerminals).RequireAuthorization(Policies.Staff).WithSummary("The store's terminals.")
            .ProducesProblems(404, "store.not_found");

        var terminals = api.MapGroup("/terminals").WithTags("Terminals");
        terminals.MapGet("/", ListTerminals).RequireAuthorization(Policies.Staff).WithSummary("Terminals, by name; filter: storeId.")
            .ProducesProblems(404, "store.not_found");
        terminals.MapGet("/{id:guid}", GetTerminal).RequireAuthorization(Policies.Staff).WithSummary("One terminal.")
            .ProducesProblems(404, "terminal.not_found");
        terminals.MapPost("/", CreateTerminal).RequireAuthorization(Policies.Admin).WithSummary("Add a terminal (till) to a store.");
        terminals.MapPatch("/{id:guid}", UpdateTerminal).RequireAuthorization(Policies.Admin).WithSummary("Rename a terminal or move it to another store.")
            .ProducesProblems(404, "terminal.not_found")
            .AcceptsMergePatch<TerminalRequest>([]);
        terminals.MapDelete("/{id:guid}", DeleteTerminal).RequireAuthorization(Policies.Admin).WithSummary("Retire a terminal (soft delete).")
            .ProducesProblems(404, "terminal.not_found");
        return api;
    }

    private static ITenantGrain Tenant(IGrainFactory grains, ClaimsPrincipal user) => grains.Reference<ITenantGrain>(user.GetTenantId());

    private static async Task<Results<Ok<ListPage<Store>>, ValidationProblem>> ListStores(int? page, int? limit, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Paging.TryCreate(page, limit, out var request, out var errors))
            return ApiProblems.Validation(errors);
        return TypedResults.Ok(await Tenant(grains, user).ListStoresAsync(request));
    }

    private static async Task<Results<Ok<Store>, ProblemHttpResult>> GetStore(Guid id, ClaimsPrincipal user, IGrainFactory grains)
    {
        var store = await Tenant(grains, user).GetStoreAsync(id);
        return store is null ? StoreNotFound(id) : TypedResults.Ok(store);
    }

    private static async Task<Results<Created<Store>, ValidationProblem>> CreateStore(StoreRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        var fields = Validate(request.Name, request.Address, request.Phone, request.TimeZone, request.AllowNegativeStock, errors);
        if (fields is null)
            return ApiProblems.Validation(errors);
        var store = await Tenant(grains, user).CreateStoreAsync(fields);
        return TypedResults.Created($"/api/v1/stores/{store.Id}", store);
    }

    private static async Task<Results<Ok<Store>, ValidationProblem, ProblemHttpResult>> UpdateStore(Guid id, JsonObject body, ClaimsPrincipal user, IGrainFactory grains)
    {
        var tenant = Tenant(grains, user);
        var current = await tenant.GetStoreAsync(id);
        if (current is null)
            return StoreNotFound(id);
        var patch = new PatchBody(body, new FieldErrors(), "name", "address", "phone", "timeZone", "allowNegativeStock");
        string? Text(string name, string? existing) => patch.Has(name) ? patch.Get<string>(name) : existing;
        var allowNegative = patch.Has("allowNegativeStock") ? patch.Get<bool?>("allowNegativeStock") : current.AllowNegativeStock;
        var fields = Validate(Text("name", current.Name), Text("address", current.Address), Text("phone", current.Phone),
            Text("timeZone", current.TimeZone), allowNegative, patch.Errors);
        if (fields is null)
            return ApiProblems.Validation(patch.Errors);
        var result = await tenant.UpdateStoreAsync(id, fields);
        return result.Outcome == DirectoryOutcome.Ok ? TypedResults.Ok(result.Value!) : StoreNotFound(id);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteStore(Guid id, ClaimsPrincipal user, IGrainFactory grains) =>
        await Tenant(grains, user).DeleteStoreAsync(id) switch
        {
            DirectoryOutcome.Ok => TypedResults.NoContent(),
            DirectoryOutcome.StoreHasTerminals => ApiProblems.Conflict("store.has_terminals", $"Store {id} still has terminals; retire them first."),
            _ => StoreNotFound(id),
        };

    private static Task<Results<Ok<ListPage<Terminal>>, ValidationProblem, ProblemHttpResult>> StoreTerminals(Guid id, int? page, int? limit,
        ClaimsPrincipal user, IGrainFactory grains) => ListTerminals(id, page, limit, user, grains);

    private static async Task<Results<Ok<ListPage<Terminal>>, ValidationProblem, ProblemHttpResult>> ListTerminals(Guid? storeId, int? page, int? limit,
        ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Paging.TryCreate(page, limit, out var request, out var errors))
            return ApiProblems.Validation(errors);
        var tenant = Tenant(grains, user);
        if (storeId is { } id && await tenant.GetStoreAsync(id) is null)
            return StoreNotFound(id);
        return TypedResults.Ok(await tenant.ListTerminalsAsync(storeId, request));
    }

    private static async Task<Results<Ok<Terminal>, ProblemHttpResult>> GetTerminal(Guid id, ClaimsPrincipal user, IGrainFactory grains)
    {
        var terminal = await Tenant(grains, user).GetTerminalAsync(id);
        return terminal is null ? TerminalNotFound(id) : TypedResults.Ok(terminal);
    }

    private static async Task<Results<Created<Terminal>, ValidationProblem>> CreateTerminal(TerminalRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new FieldErrors().Require(request.StoreId is not null, "storeId", "is required").RequireName(request.Name, "name");
        if (errors.Any)
            return ApiProblems.Validation(errors);
        var result = await Tenant(grains, user).CreateTerminalAsync(request.StoreId!.Value, request.Name!.Trim());
        return result.Outcome == DirectoryOutcome.Ok
            ? TypedResults.Created($"/api/v1/terminals/{result.Value!.Id}", result.Value)
            : ApiProblems.Validation(new FieldErrors().Add("storeId", $"store {request.StoreId} does not exist"));
    }

    private static async Task<Results<Ok<Terminal>, ValidationProblem, ProblemHttpResult>> UpdateTerminal(Guid id, JsonObject body, ClaimsPrincipal user, IGrainFactory grains)
    {
        var tenant = Tenant(grains, user);
        var current = await tenant.GetTerminalAsync(id);
        if (current is null)
            return TerminalNotFound(id);
        var patch = new PatchBody(body, new FieldErrors(), "name", "storeId");
        var name = patch.Has("name") ? patch.Get<string>("name") : current.Name;
        var storeId = patch.Has("storeId") ? patch.Get<Guid?>("storeId") : current.StoreId;
        patch.Errors.RequireName(name, "name").Require(storeId is not null, "storeId", "is required");
        if (patch.Errors.Any)
            return ApiProblems.Validation(patch.Errors);
        var result = await tenant.UpdateTerminalAsync(id, storeId!.Value, name!.Trim());
        return result.Outcome switch
        {
            DirectoryOutcome.Ok => TypedResults.Ok(result.Value!),
            DirectoryOutcome.StoreNotFound => ApiProblems.Validation(new FieldErrors().Add("storeId", $"store {storeId} does not exist")),
            _ => TerminalNotFound(id),
        };
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteTerminal(Guid id, ClaimsPrincipal user, IGrainFactory grains) =>
        await Tenant(grains, user).DeleteTerminalAsync(id) == DirectoryOutcome.Ok ? TypedResults.NoContent() : TerminalNotFound(id);

    private static StoreFields? Validate(string? name, string? address, string? phone, string? timeZone, bool? allowNegativeStock, FieldErrors errors)
    {
        var normalizedPhone = phone is null ? null : ContactFormats.NormalizePhone(phone);
        errors.RequireName(name, "name")
            .Require(address is null || address.Length <= MaxAddress, "address", $"must be at most {MaxAddress} characters")
            .Require(phone is null || normalizedPhone is not null, "phone", "must be a valid phone number (E.164, e.g. +998712345678)")
            .Require(timeZone is null || TenantEndpoints.IsTimeZone(timeZone), "timeZone", "must be an IANA time zone such as Asia/Tashkent");
        return errors.Any ? null : new StoreFields(name!.Trim(), address, normalizedPhone, timeZone, allowNegativeStock);
    }

    private static ProblemHttpResult StoreNotFound(Guid id) => ApiProblems.NotFound("store.not_found", $"Store {id} does not exist.");

    private static ProblemHttpResult TerminalNotFound(Guid id) => ApiProblems.NotFound("terminal.not_found", $"Terminal {id} does not exist.");
}
