using System.Security.Claims;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Staff;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Features.Auth;

public sealed record RegisterRequest(string? BusinessName, string? OwnerName, string? Email, string? Phone, string? Password);

public sealed record LoginRequest(string? Login, string? Password);

public sealed record TokenUser(Guid Id, Guid TenantId, string Role, string Name);

public sealed record RefreshRequest(string? RefreshToken);

public sealed record PasswordChangeRequest(string? CurrentPassword, string? NewPassword);

/// <summary>
/// A session's tokens: a short-lived bearer access token, and a refresh token that obtains the next
/// pair from POST /auth/refresh (each refresh token works once).
/// </summary>
public sealed record LoginResponse(string AccessToken, string TokenType, int ExpiresIn, string RefreshToken, DateTimeOffset RefreshExpiresAt, TokenUser User);

public sealed record RegisterResponse(Guid TenantId, Guid StoreId, string AccessToken, string TokenType, int ExpiresIn,
    string RefreshToken, DateTimeOffset RefreshExpiresAt, TokenUser User);

public static class AuthEndpoints
{
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 128;

    public static RouteGroupBuilder MapAuthEndpoints(this RouteGroupBuilder api)
    {
        // AllowAnonymous per route, not on the group: it would void the staff policy of logout and password.
        var group = api.MapGroup("/auth").WithTags("Auth").RequireRateLimiting(RateLimits.Auth);
        group.MapPost("/register", Register).AllowAnonymous().RequireRateLimiting(RateLimits.Register)
            .WithSummary("Register a business: creates the tenant, its owner and a first store.")
            .ProducesProblems(409, "auth.email_taken", "auth.phone_taken").ProducesProblems(503, "service.busy");
        group.MapPost("/login", Login).AllowAnonymous()
            .WithSummary("Log in with an email or an E.164 phone and a password; returns an access token and a refresh token.")
            .ProducesProblems(401, "auth.invalid_credentials").ProducesProblems(429, "request.rate_limited").ProducesProblems(503, "service.busy");
        group.MapPost("/refresh", Refresh).AllowAnonymous()
            .WithSummary("Trade a refresh token for a new access token and refresh token; a refresh token works once.")
            .ProducesProblems(401, "auth.refresh_token_invalid", "auth.refresh_token_expired", "auth.refresh_token_reused", "auth.session_ended");
        group.MapPost("/logout", Logout).RequireAuthorization(Policies.Staff)
            .WithSummary("End every session of the caller: their access and refresh tokens stop working on every device.");
        group.MapPost("/password", ChangePassword).RequireAuthorization(Policies.Staff)
            .WithSummary("Change the caller's password (the current one is required); ends the caller's other sessions.")
            .ProducesProblems(403, "auth.current_password_incorrect").ProducesProblems(503, "service.busy");
        return api;
    }

    private static async Task<Results<Created<RegisterResponse>, ValidationProblem, ProblemHttpResult>> Register(
        RegisterRequest request, Accounts accounts, Sessions sessions, CancellationToken ct)
    {
        var email = ContactFormats.NormalizeEmail(request.Email);
        var phone = ContactFormats.NormalizePhone(request.Phone);
        var errors = new FieldErrors()
            .RequireName(request.BusinessName, "businessName")
            .RequireName(request.OwnerName, "ownerName")
            .Require(email is not null, "email", "must be a valid email address")
            .Require(phone is not null, "phone", "must be a valid phone number (E.164, e.g. +998901234567)")
            .Require(request.Password is { Length: >= MinPasswordLength and <= MaxPasswordLength }, "password",
                $"must be {MinPasswordLength} to {MaxPasswordLength} characters");
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var ownerName = request.OwnerName!.Trim();
        var (registration, conflict) = await accounts.RegisterAsync(
            request.BusinessName!.Trim(), ownerName, email!, phone!, request.Password!, ct);
        if (registration is null)
            return conflict == RegistrationConflict.Phone
                ? ApiProblems.Conflict("auth.phone_taken", "A user with this phone is already registered.")
                : ApiProblems.Conflict("auth.email_taken", "A user with this email is already registered.");

        var session = await sessions.OpenAsync(new SessionUser(registration.UserId, registration.TenantId, ownerName, Grains.Abstractions.Roles.Owner, 1),
            "tenant.registered", ct);
        return TypedResults.Created("/api/v1/tenant", new RegisterResponse(
            registration.TenantId, registration.StoreId, session.AccessToken, "Bearer", session.ExpiresIn, session.RefreshToken, session.RefreshExpiresAt,
            new TokenUser(registration.UserId, registration.TenantId, Grains.Abstractions.Roles.Owner, ownerName)));
    }

    private static async Task<Results<Ok<LoginResponse>, ValidationProblem, ProblemHttpResult>> Login(
        LoginRequest request, Accounts accounts, Sessions sessions, LoginThrottle throttle, HttpContext http, ILogger<Accounts> log,
        CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Require(!string.IsNullOrWhiteSpace(request.Login), "login", "is required: an email or a phone in E.164")
            .Require(!string.IsNullOrEmpty(request.Password), "password", "is required");
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var isEmail = request.Login!.Contains('@');
        var login = isEmail ? ContactFormats.NormalizeEmail(request.Login) : ContactFormats.NormalizePhone(request.Login);
        // Per-login back-off before any hashing; unknown logins are throttled alike, so it tells nobody which exist.
        if (login is not null && throttle.RetryAfter(login) is { } wait)
            return RateLimits.Problem(http, wait);
        var account = login is null ? null : await accounts.VerifyAsync(login, isEmail, request.Password!, ct);
        if (account is null)
        {
            // The login id only, never the password: repeated failures for one login are what an operator looks for.
            log.LogWarning("Failed login for {Login}", login ?? "(malformed login)");
            if (login is not null)
                throttle.RecordFailure(login);
            return ApiProblems.Unauthorized("auth.invalid_credentials", "The login or password is incorrect.");
        }

        throttle.RecordSuccess(login!);
        var session = await sessions.OpenAsync(account.SessionUser, "auth.login", ct);
        return TypedResults.Ok(Response(session, account.SessionUser));
    }

    private static async Task<Results<Ok<LoginResponse>, ValidationProblem, ProblemHttpResult>> Refresh(
        RefreshRequest request, Sessions sessions, ILogger<Accounts> log, CancellationToken ct)
    {
        if (request.RefreshToken is not { Length: > 0 and <= 200 })
            return ApiProblems.Validation(new FieldErrors().Add("refreshToken", "is required: the refresh token of the last login or refresh"));
        var (outcome, session, user) = await sessions.RotateAsync(request.RefreshToken, ct);
        switch (outcome)
        {
            case RefreshOutcome.Rotated:
                return TypedResults.Ok(Response(session!, user!));
            case RefreshOutcome.Reused:
                log.LogWarning("A used refresh token of user {UserId} (tenant {TenantId}) was presented again; its session family is revoked",
                    user!.UserId, user.TenantId);
                return ApiProblems.Unauthorized("auth.refresh_token_reused",
                    "This refresh token was already used, so every token of its session is revoked. Log in again.");
            case RefreshOutcome.Expired:
                return ApiProblems.Unauthorized("auth.refresh_token_expired", "The refresh token has expired. Log in again.");
            case RefreshOutcome.SessionEnded:
                return ApiProblems.Unauthorized("auth.session_ended", StaffAccessCheck.SessionEndedDetail);
            default:
                return ApiProblems.Unauthorized("auth.refresh_token_invalid", "The refresh token is not valid. Log in again.");
        }
    }

    private static async Task<NoContent> Logout(ClaimsPrincipal user, Accounts accounts, IGrainFactory grains, CancellationToken ct)
    {
        await accounts.EndSessionsAsync(user.GetTenantId(), user.GetUserId(), ct);
        await grains.ReloadAfterCommitAsync(user.GetTenantId(), user.GetUserId());
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<LoginResponse>, ValidationProblem, ProblemHttpResult>> ChangePassword(
        PasswordChangeRequest request, ClaimsPrincipal user, Accounts accounts, Sessions sessions, IGrainFactory grains, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Require(!string.IsNullOrEmpty(request.CurrentPassword), "currentPassword", "is required")
            .Require(request.NewPassword is { Length: >= MinPasswordLength and <= MaxPasswordLength }, "newPassword",
                $"must be {MinPasswordLength} to {MaxPasswordLength} characters");
        if (errors.Any)
            return ApiProblems.Validation(errors);
        var (tenantId, userId) = (user.GetTenantId(), user.GetUserId());
        if (await accounts.VerifyByIdAsync(tenantId, userId, request.CurrentPassword!, ct) is not { } account)
            return Accounts.CurrentPasswordIncorrect();
        var version = await accounts.ChangePasswordAsync(tenantId, userId, request.NewPassword!, ct);
        await grains.ReloadAfterCommitAsync(tenantId, userId);
        // This device goes on with a new session; every other one must log in again.
        var sessionUser = account.SessionUser with { SessionVersion = version };
        return TypedResults.Ok(Response(await sessions.OpenAsync(sessionUser, auditAction: null, ct), sessionUser));
    }

    private static LoginResponse Response(SessionTokens session, SessionUser user) =>
        new(session.AccessToken, "Bearer", session.ExpiresIn, session.RefreshToken, session.RefreshExpiresAt,
            new TokenUser(user.UserId, user.TenantId, user.Role, user.Name));
}
