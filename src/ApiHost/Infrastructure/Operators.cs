using JowiShop.Grains.Abstractions;
using Microsoft.AspNetCore.Authorization;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// Who may see figures about the whole deployment (every tenant's activations, the silos, memory):
/// owners and admins (<see cref="Policies.Admin"/>) of the tenants listed in
/// <c>Operations:OperatorTenants</c>, the deployment's operators. A tenant's admin runs a shop, not
/// the cluster: by default (no list) nobody qualifies. <c>"*"</c> admits the admins of every tenant
/// (appsettings.Development.json sets it; a single-tenant deployment may too).
/// </summary>
public static class Operators
{
    public const string Policy = "operator";
    public const string Section = "Operations:OperatorTenants";

    public static AuthorizationBuilder AddOperatorPolicy(this AuthorizationBuilder builder, IConfiguration configuration)
    {
        var listed = configuration.GetSection(Section).Get<string[]>() ?? [];
        var anyTenant = listed.Contains("*");
        var tenants = listed.Where(t => t != "*")
            .Select(t => Guid.TryParse(t, out var id) ? id : throw new InvalidOperationException($"{Section}: '{t}' is neither a tenant id nor \"*\"."))
            .ToHashSet();
        return builder.AddPolicy(Policy, p => p.RequireAuthenticatedUser().RequireClaim(TenantClaims.TenantId)
            .RequireRole(Roles.Owner, Roles.Admin)
            .RequireAssertion(context => anyTenant
                || Guid.TryParse(context.User.FindFirst(TenantClaims.TenantId)?.Value, out var tenant) && tenants.Contains(tenant)));
    }
}
