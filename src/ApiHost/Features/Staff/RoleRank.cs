using System.Security.Claims;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Features.Staff;

/// <summary>
/// The role hierarchy, owner > admin > manager > cashier, as rules nobody can climb: a caller acts
/// only on users below their own role (the owner on everyone), grants only roles below their own
/// (the owner up to admin), and ownership moves only by the owner's explicit transfer.
/// </summary>
public static class RoleRank
{
    public static int Of(string role) => role switch
    {
        Roles.Owner => 4,
        Roles.Admin => 3,
        Roles.Manager => 2,
        Roles.Cashier => 1,
        _ => 0,
    };

    /// <summary>Null when the caller may change or delete this employee; else the 403.</summary>
    public static ProblemHttpResult? RefusesActingOn(ClaimsPrincipal caller, Employee target)
    {
        var role = caller.GetRole();
        if (role == Roles.Owner || target.UserId == caller.GetUserId() || Of(target.Role) < Of(role))
            return null;
        return ApiProblems.Forbidden("employee.rank_forbidden",
            $"A {role} cannot change or delete a user whose role is {target.Role}: only users of a lower role (the owner acts on everyone).");
    }

    /// <summary>Null when the caller may give this role; else the 403. Nobody grants owner: ownership is transferred.</summary>
    public static ProblemHttpResult? RefusesGranting(string callerRole, string role) =>
        role != Roles.Owner && (callerRole == Roles.Owner || Of(role) < Of(callerRole))
            ? null
            : ApiProblems.Forbidden("employee.role_forbidden",
                $"A {callerRole} cannot give the role {role}: only roles below their own (the owner may appoint admins).");
}
