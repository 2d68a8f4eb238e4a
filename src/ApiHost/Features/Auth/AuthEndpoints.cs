using JowiShop.ApiHost.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Features.Auth;

public sealed record RegisterRequest(string? BusinessName, string? OwnerName, string? Email, string? Phone, string? Password);

public sealed record LoginRequest(string? Login, string? Password);

public sealed record TokenUser(Guid Id, Guid TenantId, string Role, string Name);

public sealed record LoginResponse(string AccessToken, string TokenType, int ExpiresIn, TokenUser User);

public sealed record RegisterResponse(Guid TenantId, Guid StoreId, string AccessToken, string TokenType, int ExpiresIn, TokenUser User);

public static class AuthEndpoints
{
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 128;

    public static RouteGroupBuilder MapAuthEndpoints(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/auth").WithTags("Auth").AllowAnonymous().RequireRateLimiting(RateLimits.Auth);
        group.MapPost("/register", Register).RequireRateLimiting(RateLimits.Register)
            .WithSummary("Register a business: creates the tenant, its owner and a first store.");
        group.MapPost("/login", Login)
            .WithSummary("Log in with an email or an E.164 phone and a password; returns a bearer token.");
        return api;
    }

    private static async Task<Results<Created<RegisterResponse>, ValidationProblem, ProblemHttpResult>> Register(
        RegisterRequest request, Accounts accounts, AccessTokenIssuer tokens, CancellationToken ct)
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

        var (token, expiresIn) = tokens.Issue(registration.UserId, registration.TenantId, Grains.Abstractions.Roles.Owner, ownerName);
        return TypedResults.Created("/api/v1/tenant", new RegisterResponse(
            registration.TenantId, registration.StoreId, token, "Bearer", expiresIn,
            new TokenUser(registration.UserId, registration.TenantId, Grains.Abstractions.Roles.Owner, ownerName)));
    }

    private static async Task<Results<Ok<LoginResponse>, ValidationProblem, ProblemHttpResult>> Login(
        LoginRequest request, Accounts accounts, AccessTokenIssuer tokens, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Require(!string.IsNullOrWhiteSpace(request.Login), "login", "is required: an email or a phone in E.164")
            .Require(!string.IsNullOrEmpty(request.Password), "password", "is required");
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var isEmail = request.Login!.Contains('@');
        var login = isEmail ? ContactFormats.NormalizeEmail(request.Login) : ContactFormats.NormalizePhone(request.Login);
        var account = login is null || request.Password!.Length > MaxPasswordLength
            ? null
            : await accounts.VerifyAsync(login, isEmail, request.Password, ct);
        if (account is null)
            return ApiProblems.Unauthorized("auth.invalid_credentials", "The login or password is incorrect.");

        var (token, expiresIn) = tokens.Issue(account.Id, account.TenantId, account.Role, account.Name);
        return TypedResults.Ok(new LoginResponse(token, "Bearer", expiresIn,
            new TokenUser(account.Id, account.TenantId, account.Role, account.Name)));
    }
}
