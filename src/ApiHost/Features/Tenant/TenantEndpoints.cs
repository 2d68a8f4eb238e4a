using System.Security.Claims;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Features.Tenant;

/// <summary>Each role's largest line discount in percent (0 to 100, 2 decimals); the owner is not limited.</summary>
public sealed record DiscountLimitsRequest(decimal? Cashier, decimal? Manager, decimal? Admin);

/// <summary>The whole settings document; <c>maxDiscountPercent</c> left out keeps the current limits.</summary>
public sealed record TenantSettingsRequest(string? Currency, string? TimeZone, NegativeStockPolicy? NegativeStock, DiscountLimitsRequest? MaxDiscountPercent);

public static class TenantEndpoints
{
    public static RouteGroupBuilder MapTenantEndpoints(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/tenant").WithTags("Tenant");
        group.MapGet("/settings", GetSettings).RequireAuthorization(Policies.Staff)
            .WithSummary("The caller's tenant settings: currency, default time zone, negative-stock policy.");
        group.MapPut("/settings", UpdateSettings).RequireAuthorization(Policies.Admin)
            .WithSummary("Replace the tenant settings (admins and owners).");
        return api;
    }

    private static async Task<Ok<TenantSettings>> GetSettings(ClaimsPrincipal user, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Reference<ITenantGrain>(user.GetTenantId()).GetSettingsAsync());

    private static async Task<Results<Ok<TenantSettings>, ValidationProblem>> UpdateSettings(
        TenantSettingsRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var currency = request.Currency?.Trim().ToUpperInvariant();
        var errors = new FieldErrors()
            .Require(currency is { Length: 3 } && currency.All(char.IsAsciiLetterUpper), "currency", "must be an ISO 4217 code such as UZS")
            .Require(IsTimeZone(request.TimeZone), "timeZone", "must be an IANA time zone such as Asia/Tashkent")
            .Require(request.NegativeStock is not null && Enum.IsDefined(request.NegativeStock.Value), "negativeStock", "must be allow or refuse");
        if (request.MaxDiscountPercent is { } limits)
            foreach (var (field, value) in new[] { ("cashier", limits.Cashier), ("manager", limits.Manager), ("admin", limits.Admin) })
                errors.Require(value is >= 0m and <= 100m && decimal.Round(value.Value, 2) == value, $"maxDiscountPercent.{field}",
                    "must be a percentage from 0 to 100 with at most 2 decimals");
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var tenant = grains.Reference<ITenantGrain>(user.GetTenantId());
        var discountLimits = request.MaxDiscountPercent is { } l
            ? new DiscountLimits(l.Cashier!.Value, l.Manager!.Value, l.Admin!.Value)
            : (await tenant.GetSettingsAsync()).DiscountLimits;
        var settings = new TenantSettings(currency!, request.TimeZone!, request.NegativeStock!.Value, discountLimits);
        return TypedResults.Ok(await tenant.UpdateSettingsAsync(settings, user.GetUserId()));
    }

    public static bool IsTimeZone(string? id) =>
        !string.IsNullOrWhiteSpace(id) && id.Contains('/') && TimeZoneInfo.TryFindSystemTimeZoneById(id, out _);
}
