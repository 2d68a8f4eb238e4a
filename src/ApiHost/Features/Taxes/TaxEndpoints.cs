using System.Security.Claims;
using System.Text.Json.Nodes;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Features.Taxes;

/// <summary>The tenant's VAT-payer flag, price mode (inclusive: the default) and default rate.</summary>
public sealed record TaxSettingsRequest(bool? VatPayer, TaxPricing? Prices, Guid? DefaultRateId);

/// <summary>A new rate: a percent (0 to 100, 2 decimals) or <c>exempt: true</c>, in force from <c>effectiveFrom</c> (default: always).</summary>
public sealed record TaxRateRequest(string? Name, decimal? Percent, bool? Exempt, DateOnly? EffectiveFrom);

/// <summary>A rate's value from a business date on (the store's date): a percent, or <c>exempt: true</c>.</summary>
public sealed record TaxRateChangeRequest(decimal? Percent, bool? Exempt, DateOnly? EffectiveFrom);

/// <summary>A rate as the API shows it: its history, and the version in force today (UTC date) for convenience.</summary>
public sealed record TaxRateView(Guid Id, string Name, bool IsDefault, TaxRateVersion? Current, IReadOnlyList<TaxRateVersion> History);

public sealed record TaxSettingsView(bool VatPayer, TaxPricing Prices, Guid DefaultRateId, IReadOnlyList<TaxRateView> Rates);

public static class TaxEndpoints
{
    public const int MaxRates = 50;

    public static RouteGroupBuilder MapTaxEndpoints(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/taxes").WithTags("Taxes");
        group.MapGet("/", Get).RequireAuthorization(Policies.Staff)
            .WithSummary("The tenant's taxes: VAT payer, inclusive or exclusive prices, default rate, rates with their histories.");
        group.MapPut("/", UpdateSettings).RequireAuthorization(Policies.Admin)
            .WithSummary("Set the VAT-payer flag, the price mode and the default rate (admins and owners).");
        group.MapGet("/rates/{id:guid}", GetRate).RequireAuthorization(Policies.Staff).WithSummary("One tax rate with its history.")
            .ProducesProblems(404, "tax_rate.not_found");
        group.MapPost("/rates", CreateRate).RequireAuthorization(Policies.Admin)
            .WithSummary("Create a named rate: a percent or exempt, in force from a business date (admins and owners).")
            .ProducesProblems(409, "tax_rate.name_taken", "tax_rate.too_many");
        group.MapPatch("/rates/{id:guid}", RenameRate).RequireAuthorization(Policies.Admin).WithSummary("Rename a rate.")
            .AcceptsMergePatch<TaxRateRequest>([], "percent", "exempt", "effectiveFrom").ProducesProblems(404, "tax_rate.not_found").ProducesProblems(409, "tax_rate.name_taken");
        group.MapPost("/rates/{id:guid}/changes", ChangeRate).RequireAuthorization(Policies.Admin)
            .WithSummary("Give a rate a new value from a business date on; sales from that date are charged it, receipts keep what they were charged.")
            .ProducesProblems(404, "tax_rate.not_found");
        return api;
    }

    private static ITenantGrain Tenant(IGrainFactory grains, ClaimsPrincipal user) => grains.Reference<ITenantGrain>(user.GetTenantId());

    private static async Task<Ok<TaxSettingsView>> Get(ClaimsPrincipal user, IGrainFactory grains) =>
        TypedResults.Ok(View(await Tenant(grains, user).GetTaxesAsync()));

    private static async Task<Results<Ok<TaxSettingsView>, ValidationProblem>> UpdateSettings(TaxSettingsRequest request, ClaimsPrincipal user,
        IGrainFactory grains)
    {
        var errors = new FieldErrors()
            .Require(request.VatPayer is not null, "vatPayer", "is required")
            .Require(request.Prices is { } p && Enum.IsDefined(p), "prices", "must be inclusive or exclusive")
            .Require(request.DefaultRateId is not null, "defaultRateId", "is required");
        if (errors.Any)
            return ApiProblems.Validation(errors);
        var result = await Tenant(grains, user).UpdateTaxSettingsAsync(request.VatPayer!.Value, request.Prices!.Value, request.DefaultRateId!.Value,
            user.GetUserId());
        if (result.Outcome == TaxWriteOutcome.DefaultRateNotFound)
            return ApiProblems.Validation(new FieldErrors().Add("defaultRateId", $"tax rate {request.DefaultRateId} does not exist"));
        return TypedResults.Ok(View(result.Settings!));
    }

    private static async Task<Results<Ok<TaxRateView>, ProblemHttpResult>> GetRate(Guid id, ClaimsPrincipal user, IGrainFactory grains)
    {
        var taxes = await Tenant(grains, user).GetTaxesAsync();
        return taxes.Rate(id) is { } rate ? TypedResults.Ok(View(taxes, rate)) : RateNotFound(id);
    }

    private static async Task<Results<Created<TaxRateView>, ValidationProblem, ProblemHttpResult>> CreateRate(TaxRateRequest request,
        ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new FieldErrors().RequireName(request.Name, "name", 100);
        var version = Version(request.Percent, request.Exempt, request.EffectiveFrom ?? DateOnly.MinValue, errors);
        if (errors.Any)
            return ApiProblems.Validation(errors);
        var tenant = Tenant(grains, user);
        if ((await tenant.GetTaxesAsync()).Rates.Count >= MaxRates)
            return ApiProblems.Conflict("tax_rate.too_many", $"A tenant has at most {MaxRates} tax rates.");
        var result = await tenant.CreateTaxRateAsync(request.Name!.Trim(), version!, user.GetUserId());
        if (result.Outcome == TaxWriteOutcome.NameTaken)
            return NameTaken(request.Name!.Trim());
        return TypedResults.Created($"/api/v1/taxes/rates/{result.Rate!.Id}", View(result.Settings!, result.Rate));
    }

    private static async Task<Results<Ok<TaxRateView>, ValidationProblem, ProblemHttpResult>> RenameRate(Guid id, JsonObject body,
        ClaimsPrincipal user, IGrainFactory grains)
    {
        var patch = new PatchBody(body, new FieldErrors(), "name");
        var name = patch.Get<string>("name");
        patch.Errors.RequireName(name, "name", 100);
        if (patch.Errors.Any)
            return ApiProblems.Validation(patch.Errors);
        var result = await Tenant(grains, user).UpdateTaxRateAsync(id, name!.Trim(), null, user.GetUserId());
        return Answer(result, id, name.Trim());
    }

    private static async Task<Results<Ok<TaxRateView>, ValidationProblem, ProblemHttpResult>> ChangeRate(Guid id, TaxRateChangeRequest request,
        ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new FieldErrors().Require(request.EffectiveFrom is not null, "effectiveFrom", "is required: the first business date of the new value");
        var version = Version(request.Percent, request.Exempt, request.EffectiveFrom ?? DateOnly.MinValue, errors);
        if (errors.Any)
            return ApiProblems.Validation(errors);
        return Answer(await Tenant(grains, user).UpdateTaxRateAsync(id, null, version, user.GetUserId()), id, null);
    }

    private static Results<Ok<TaxRateView>, ValidationProblem, ProblemHttpResult> Answer(TaxWrite result, Guid id, string? name) => result.Outcome switch
    {
        TaxWriteOutcome.Ok => TypedResults.Ok(View(result.Settings!, result.Rate!)),
        TaxWriteOutcome.NameTaken => NameTaken(name!),
        _ => RateNotFound(id),
    };

    /// <summary>Exactly one of a percent (0 to 100, at most 2 decimals) and <c>exempt: true</c>.</summary>
    private static TaxRateVersion? Version(decimal? percent, bool? exempt, DateOnly effectiveFrom, FieldErrors errors)
    {
        if (exempt == true)
        {
            errors.Require(percent is null, "percent", "must be left out for an exempt rate");
            return errors.Any ? null : new TaxRateVersion(effectiveFrom, null);
        }
        errors.Require(percent is >= 0m and <= 100m && decimal.Round(percent.Value, 2) == percent, "percent",
            "is required (or exempt: true): a percentage from 0 to 100 with at most 2 decimals");
        return errors.Any ? null : new TaxRateVersion(effectiveFrom, percent!.Value);
    }

    /// <summary>Refuses tax rate ids that are not the tenant's (400 naming the field): another tenant's id reads as one that does not exist.</summary>
    public static async Task RequireRatesAsync(IGrainFactory grains, ClaimsPrincipal user, IEnumerable<(string Field, Guid? RateId)> rates, FieldErrors errors)
    {
        var wanted = rates.Where(r => r.RateId is not null).ToArray();
        if (wanted.Length == 0)
            return;
        var taxes = await Tenant(grains, user).GetTaxesAsync();
        foreach (var (field, rateId) in wanted)
            if (taxes.Rate(rateId!.Value) is null)
                errors.Add(field, $"tax rate {rateId} does not exist");
    }

    private static TaxSettingsView View(TaxSettings taxes) =>
        new(taxes.VatPayer, taxes.Prices, taxes.DefaultRateId, taxes.Rates.Select(r => View(taxes, r)).ToArray());

    private static TaxRateView View(TaxSettings taxes, TaxRate rate) =>
        new(rate.Id, rate.Name, rate.Id == taxes.DefaultRateId, rate.On(DateOnly.FromDateTime(DateTime.UtcNow)), rate.History);

    private static ProblemHttpResult RateNotFound(Guid id) => ApiProblems.NotFound("tax_rate.not_found", $"Tax rate {id} does not exist.");

    private static ProblemHttpResult NameTaken(string name) => ApiProblems.Conflict("tax_rate.name_taken", $"A tax rate named \"{name}\" already exists.");
}
