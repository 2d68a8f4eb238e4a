using System.Diagnostics;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.IdentityModel.Tokens;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// Errors that say what to do (issue 15): a 401 tells a missing token from a malformed one, an expired
/// one and one whose session ended (revoked); a 403 from a policy names the roles it admits. The bearer
/// handler and the authorization middleware answer with empty bodies; the reasons are kept on the
/// request here and written into the problem document by <see cref="Customize"/>.
/// </summary>
public static class AuthProblems
{
    private const string ForbiddenKey = "jowishop.auth.forbidden";
    private const string ChallengeKey = "jowishop.auth.challenge";

    /// <summary>JwtBearerEvents.OnChallenge: why the request is unauthenticated. The handler still writes the 401 and WWW-Authenticate.</summary>
    public static Task OnChallengeAsync(JwtBearerChallengeContext context)
    {
        var http = context.HttpContext;
        if (StaffAccessCheck.ProblemOf(http) is not null)
            return Task.CompletedTask; // a revoked session or a token without its claims: already said
        http.Items[ChallengeKey] = context.AuthenticateFailure switch
        {
            null when !http.Request.Headers.Authorization.Any(h => h?.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) == true) =>
                ("auth.unauthenticated", "No access token: send Authorization: Bearer <accessToken> from POST /api/v1/auth/login."),
            null => ("auth.unauthenticated", "The Authorization header holds no token after \"Bearer \". Send the accessToken from POST /api/v1/auth/login."),
            SecurityTokenExpiredException => ("auth.token_expired",
                "The access token has expired (they live 15 minutes). Get a new pair from POST /api/v1/auth/refresh, or log in again."),
            _ => ("auth.token_invalid",
                "The access token is malformed or not signed by this API. Send the accessToken from POST /api/v1/auth/login unchanged."),
        };
        return Task.CompletedTask;
    }

    /// <summary>The roles a policy admits, in words.</summary>
    public static string RolesOf(string policy) => policy switch
    {
        Policies.Staff => "any staff member (cashier, manager, admin, owner)",
        Policies.Manager => "a manager, an admin or the owner",
        Policies.Admin => "an admin or the owner",
        Policies.Owner => "the owner",
        Operators.Policy => "an admin or the owner of an operating tenant (Operations:OperatorTenants)",
        Telemetry.AccessPolicy => "an admin or the owner of an operating tenant (Operations:OperatorTenants), or a connection to the management listener (Telemetry:ManagementUrl)",
        _ => $"the policy {policy}",
    };

    /// <summary>Fills in code and detail of 401 and 403 answers the framework wrote without a body, and the trace id of every problem.</summary>
    public static void Customize(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var http = context.HttpContext;
        var status = problem.Status ?? http.Response.StatusCode;
        if (status == 401 && (StaffAccessCheck.ProblemOf(http) ?? Challenge(http)) is { } refused)
        {
            problem.Extensions["code"] = refused.Code;
            problem.Detail ??= refused.Detail;
        }
        if (status == 403 && http.Items.TryGetValue(ForbiddenKey, out var forbidden) && forbidden is string detail)
            problem.Detail ??= detail;
        // The framework's own empty answers (a wrong content type is refused before any handler runs).
        if (status == 415)
            problem.Detail ??= "The body must be JSON: send Content-Type: application/json.";
        problem.Extensions.TryAdd("code", ApiProblems.DefaultCode(status));
        ProblemMetrics.Answered(status, problem.Extensions["code"]);
        problem.Extensions["traceId"] = Activity.Current?.TraceId.ToString() ?? http.TraceIdentifier;
    }

    private static (string Code, string Detail)? Challenge(HttpContext http) =>
        http.Items.TryGetValue(ChallengeKey, out var value) ? ((string, string))value! : null;

    /// <summary>Keeps the framework's answers (challenge, forbid) and records, on a 403, which role the endpoint needs.</summary>
    public sealed class ResultHandler : IAuthorizationMiddlewareResultHandler
    {
        private readonly AuthorizationMiddlewareResultHandler _default = new();

        public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
        {
            if (authorizeResult.Forbidden)
            {
                var roles = policy.Requirements.OfType<RolesAuthorizationRequirement>().FirstOrDefault()?.AllowedRoles;
                var named = context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).OfType<string>()
                    .FirstOrDefault(p => p != Policies.Staff);
                var role = context.User.FindFirst(TenantClaims.Role)?.Value;
                context.Items[ForbiddenKey] = $"This needs {(named is null ? string.Join(" or ", roles ?? []) : RolesOf(named))}; your role is {role}.";
            }
            return _default.HandleAsync(next, context, policy, authorizeResult);
        }
    }
}
