using System.Security.Claims;
using JowiShop.Grains.Abstractions;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>The claims our access tokens carry. The tenant comes from here and nowhere else.</summary>
public static class TenantClaims
{
    public const string UserId = "sub";
    public const string TenantId = "tenant_id";
    public const string Role = "role";
    public const string Name = "name";
    /// <summary>The user's session version when the token was issued (see IStaffAccessGrain).</summary>
    public const string SessionVersion = "sv";

    public static Guid GetTenantId(this ClaimsPrincipal user) => ParseGuid(user, TenantId);

    public static Guid GetUserId(this ClaimsPrincipal user) => ParseGuid(user, UserId);

    public static string GetRole(this ClaimsPrincipal user) => user.FindFirstValue(Role) ?? "";

    private static Guid ParseGuid(ClaimsPrincipal user, string claim) =>
        Guid.TryParse(user.FindFirstValue(claim), out var id)
            ? id
            // The authorization policies require these claims, so this is a wiring bug, not a client error.
            : throw new InvalidOperationException($"The authenticated principal has no valid '{claim}' claim.");
}

/// <summary>Authorization policies by the least role that may pass.</summary>
public static class Policies
{
    /// <summary>Any staff member: cashiers and above.</summary>
    public const string Staff = "staff";
    /// <summary>Managers, admins and owners: catalog, customers, price overrides.</summary>
    public const string Manager = "manager";
    /// <summary>Admins and owners: stores, terminals, employees, tenant settings.</summary>
    public const string Admin = "admin";
    public const string Owner = "owner";

    public static void Add(Microsoft.AspNetCore.Authorization.AuthorizationBuilder builder)
    {
        builder.AddPolicy(Staff, p => p.RequireAuthenticatedUser().RequireClaim(TenantClaims.TenantId)
            .RequireRole(Roles.Owner, Roles.Admin, Roles.Manager, Roles.Cashier));
        builder.AddPolicy(Manager, p => p.RequireAuthenticatedUser().RequireClaim(TenantClaims.TenantId)
            .RequireRole(Roles.Owner, Roles.Admin, Roles.Manager));
        builder.AddPolicy(Admin, p => p.RequireAuthenticatedUser().RequireClaim(TenantClaims.TenantId)
            .RequireRole(Roles.Owner, Roles.Admin));
        builder.AddPolicy(Owner, p => p.RequireAuthenticatedUser().RequireClaim(TenantClaims.TenantId)
            .RequireRole(Roles.Owner));
    }
}
