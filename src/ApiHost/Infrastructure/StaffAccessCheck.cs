using System.Globalization;
using System.Security.Claims;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Staff;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// Every authenticated request checks, against this process's lease of the user's
/// <see cref="IStaffAccessGrain"/> (memory; one grain call per lease, <see cref="StaffAccessLeases"/>),
/// whether the token's session version, role and user are still current. A deleted,
/// demoted, reassigned or logged-out user bumped that version in the same transaction as the
/// change, so their older tokens are refused on the next request, on every silo. The answer is
/// kept on the request for the store-scope checks.
/// </summary>
public static class StaffAccessCheck
{
    private const string ProblemKey = "jowishop.auth.problem";

    public const string SessionEndedDetail =
        "This session has ended (logged out, or the user's role, stores, credentials or employment changed). Log in again.";

    public static async Task OnTokenValidatedAsync(TokenValidatedContext context)
    {
        var principal = context.Principal!;
        if (!Guid.TryParse(principal.FindFirstValue(TenantClaims.UserId), out var userId)
            || !Guid.TryParse(principal.FindFirstValue(TenantClaims.TenantId), out var tenantId)
            || !long.TryParse(principal.FindFirstValue(TenantClaims.SessionVersion), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            Refuse(context, "auth.token_invalid", "The access token lacks its user, tenant or session. Log in again.");
            return;
        }

        var leases = context.HttpContext.RequestServices.GetRequiredService<StaffAccessLeases>();
        var access = await leases.GetAsync(tenantId, userId, version);
        if (access is null || access.SessionVersion != version || access.Role != principal.FindFirstValue(TenantClaims.Role))
        {
            Refuse(context, "auth.session_ended", SessionEndedDetail);
            return;
        }
        context.HttpContext.Features.Set(access);
    }

    /// <summary>The code and detail of a 401 this check produced, for the problem document.</summary>
    public static (string Code, string Detail)? ProblemOf(HttpContext http) =>
        http.Items.TryGetValue(ProblemKey, out var value) ? ((string, string))value! : null;

    private static void Refuse(TokenValidatedContext context, string code, string detail)
    {
        context.HttpContext.Items[ProblemKey] = (code, detail);
        context.Fail(detail);
    }
}

/// <summary>Store scope: cashiers and managers work at the stores they are assigned to; admins and the owner everywhere.</summary>
public static class StoreScope
{
    /// <summary>The caller's current access (set by <see cref="StaffAccessCheck"/> on every authenticated request).</summary>
    public static StaffAccess Access(this HttpContext http) =>
        http.Features.Get<StaffAccess>()
        // Every staff route passes the check before its handler runs: a missing value is a wiring bug.
        ?? throw new InvalidOperationException("No staff access on an authenticated request.");

    /// <summary>Null when the caller works at the store; else the 403 to answer.</summary>
    public static ProblemHttpResult? Refusal(this HttpContext http, Guid storeId) =>
        http.Access().WorksAt(storeId) ? null : NotAssigned(storeId);

    /// <summary>The stores a list must be limited to: null for admins and the owner (every store).</summary>
    public static IReadOnlyList<Guid>? Limit(this HttpContext http) =>
        http.Access() is { Role: Roles.Owner or Roles.Admin } ? null : http.Access().StoreIds;

    public static ProblemHttpResult NotAssigned(Guid storeId) =>
        ApiProblems.Forbidden("store.not_assigned",
            $"You are not assigned to store {storeId}: cashiers and managers work only at their assigned stores.");
}
