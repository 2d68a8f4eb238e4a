using System.Security.Claims;
using System.Text.Json.Nodes;
using JowiShop.ApiHost.Features.Auth;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Staff;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Features.Staff;

public sealed record OwnershipTransferRequest(string? CurrentPassword);

public sealed record EmployeeRequest(string? Name, string? Email, string? Phone, string? Password, string? Role, string? Position, IReadOnlyList<Guid>? StoreIds);

public static class EmployeeEndpoints
{
    public static RouteGroupBuilder MapEmployeeEndpoints(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/employees").WithTags("Employees");
        group.MapGet("/", List).RequireAuthorization(Policies.Staff).WithSummary("Employees by name; filter: storeId.");
        group.MapGet("/{id:guid}", Get).RequireAuthorization(Policies.Staff).WithSummary("One employee.")
            .ProducesProblems(404, "employee.not_found");
        group.MapPost("/", Create).RequireAuthorization(Policies.Admin).WithSummary("Hire: a login with a role (admin, manager, cashier), assigned to stores.")
            .ProducesProblems(403, "employee.role_forbidden", "employee.rank_forbidden").ProducesProblems(409, "employee.email_taken", "employee.phone_taken").ProducesProblems(503, "service.busy");
        group.MapPatch("/{id:guid}", Update).RequireAuthorization(Policies.Admin).WithSummary("Change name, contacts, role, position, stores or password.")
            .ProducesProblems(403, "employee.role_forbidden", "employee.rank_forbidden", "employee.self_change_forbidden", "employee.self_password").ProducesProblems(404, "employee.not_found").ProducesProblems(409, "employee.email_taken", "employee.phone_taken", "employee.owner_protected", "employee.changed_concurrently").ProducesProblems(503, "service.busy")
            .AcceptsMergePatch<EmployeeRequest>(["email", "phone", "position"]);
        group.MapDelete("/{id:guid}", Delete).RequireAuthorization(Policies.Admin).WithSummary("Let go: soft-deletes the employee and its login.")
            .ProducesProblems(403, "employee.rank_forbidden", "employee.self_change_forbidden").ProducesProblems(404, "employee.not_found").ProducesProblems(409, "employee.owner_protected", "employee.changed_concurrently");
        group.MapPost("/{id:guid}/ownership", TransferOwnership).RequireAuthorization(Policies.Owner)
            .WithSummary("The owner hands the business to another employee (who becomes the owner; the caller becomes an admin).")
            .ProducesProblems(403, "auth.current_password_incorrect").ProducesProblems(404, "employee.not_found").ProducesProblems(409, "employee.already_owner", "employee.changed_concurrently").ProducesProblems(503, "service.busy");
        return api;
    }

    private static async Task<Results<Ok<ListPage<Employee>>, ValidationProblem>> List(int? page, int? limit, Guid? storeId, ClaimsPrincipal user,
        Employees employees, CancellationToken ct)
    {
        if (!Paging.TryCreate(page, limit, out var request, out var errors))
            return ApiProblems.Validation(errors);
        return TypedResults.Ok(await employees.ListAsync(user.GetTenantId(), request, storeId, ct));
    }

    private static async Task<Results<Ok<Employee>, ProblemHttpResult>> Get(Guid id, ClaimsPrincipal user, Employees employees, CancellationToken ct) =>
        await employees.FindAsync(user.GetTenantId(), id, ct) is { } employee ? TypedResults.Ok(employee) : NotFound(id);

    private static async Task<Results<Created<Employee>, ValidationProblem, ProblemHttpResult>> Create(EmployeeRequest request, ClaimsPrincipal user,
        Employees employees, IGrainFactory grains, CancellationToken ct)
    {
        var tenantId = user.GetTenantId();
        var errors = new FieldErrors().Require(request.Password is not null, "password", "is required");
        var fields = await ValidateAsync(request.Name, request.Email, request.Phone, request.Password, request.Role, request.Position,
            request.StoreIds ?? [], errors, grains.Reference<ITenantGrain>(tenantId));
        if (fields is null)
            return ApiProblems.Validation(errors);
        if (RoleRank.RefusesGranting(user.GetRole(), fields.Role) is { } forbidden)
            return forbidden;
        var (conflict, id) = await employees.CreateAsync(tenantId, user.GetUserId(), fields, ct);
        if (conflict != EmployeeConflict.None)
            return Conflict(conflict);
        return TypedResults.Created($"/api/v1/employees/{id}", (await employees.FindAsync(tenantId, id, ct))!);
    }

    private static async Task<Results<Ok<Employee>, ValidationProblem, ProblemHttpResult>> Update(Guid id, JsonObject body, ClaimsPrincipal user,
        Employees employees, IGrainFactory grains, CancellationToken ct)
    {
        var tenantId = user.GetTenantId();
        if (await employees.FindAsync(tenantId, id, ct) is not { } current)
            return NotFound(id);
        if (RoleRank.RefusesActingOn(user, current) is { } refused)
            return refused;
        var patch = new PatchBody(body, new FieldErrors(), "name", "email", "phone", "password", "role", "position", "storeIds");
        string? Text(string name, string? existing) => patch.Has(name) ? patch.Get<string>(name) : existing;
        var role = Text("role", current.Role);
        if (current.Role == Roles.Owner && role != Roles.Owner)
            return OwnerProtected();
        var isSelf = current.UserId == user.GetUserId();
        if (isSelf && patch.Has("password"))
            return ApiProblems.Forbidden("employee.self_password",
                "Change your own password with POST /api/v1/auth/password, which asks for the current one.");
        var fields = await ValidateAsync(Text("name", current.Name), Text("email", current.Email), Text("phone", current.Phone),
            patch.Get<string>("password"), current.Role == Roles.Owner ? null : role, Text("position", current.Position),
            patch.Has("storeIds") ? patch.Get<Guid[]>("storeIds") ?? [] : current.StoreIds, patch.Errors, grains.Reference<ITenantGrain>(tenantId),
            keepOwner: current.Role == Roles.Owner);
        if (fields is null)
            return ApiProblems.Validation(patch.Errors);
        if (isSelf && (fields.Role != current.Role || !Employees.SameStores(fields.StoreIds, current.StoreIds)))
            return ApiProblems.Forbidden("employee.self_change_forbidden", "Nobody changes their own role or store assignments.");
        if (fields.Role != current.Role && RoleRank.RefusesGranting(user.GetRole(), fields.Role) is { } forbidden)
            return forbidden;
        var conflict = await employees.UpdateAsync(tenantId, user.GetUserId(), current, fields, ct);
        if (conflict != EmployeeConflict.None)
            return Conflict(conflict);
        await grains.ReloadAfterCommitAsync(tenantId, current.UserId);
        return TypedResults.Ok((await employees.FindAsync(tenantId, id, ct))!);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(Guid id, ClaimsPrincipal user, Employees employees, IGrainFactory grains,
        CancellationToken ct)
    {
        var tenantId = user.GetTenantId();
        if (await employees.FindAsync(tenantId, id, ct) is not { } current)
            return NotFound(id);
        if (current.Role == Roles.Owner)
            return OwnerProtected();
        if (current.UserId == user.GetUserId())
            return ApiProblems.Forbidden("employee.self_change_forbidden", "Nobody deletes their own employment: another admin or the owner does.");
        if (RoleRank.RefusesActingOn(user, current) is { } refused)
            return refused;
        if (await employees.DeleteAsync(tenantId, user.GetUserId(), current, ct) != EmployeeConflict.None)
            return Conflict(EmployeeConflict.Changed);
        await grains.ReloadAfterCommitAsync(tenantId, current.UserId);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<Employee>, ValidationProblem, ProblemHttpResult>> TransferOwnership(Guid id, OwnershipTransferRequest request,
        ClaimsPrincipal user, Employees employees, Accounts accounts, IGrainFactory grains, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(request.CurrentPassword))
            return ApiProblems.Validation(new FieldErrors().Add("currentPassword", "is required: the owner's password confirms the transfer"));
        var (tenantId, ownerId) = (user.GetTenantId(), user.GetUserId());
        if (await employees.FindAsync(tenantId, id, ct) is not { } successor)
            return NotFound(id);
        if (successor.UserId == ownerId)
            return ApiProblems.Conflict("employee.already_owner", "You already own this business.");
        if (await accounts.VerifyByIdAsync(tenantId, ownerId, request.CurrentPassword, ct) is null)
            return Accounts.CurrentPasswordIncorrect();
        if (await employees.TransferOwnershipAsync(tenantId, ownerId, successor, ct) != EmployeeConflict.None)
            return Conflict(EmployeeConflict.Changed);
        await Task.WhenAll(
            grains.ReloadAfterCommitAsync(tenantId, ownerId),
            grains.ReloadAfterCommitAsync(tenantId, successor.UserId));
        return TypedResults.Ok((await employees.FindAsync(tenantId, id, ct))!);
    }

    private static async Task<EmployeeFields?> ValidateAsync(string? name, string? email, string? phone, string? password, string? role,
        string? position, IReadOnlyList<Guid> storeIds, FieldErrors errors, ITenantGrain tenant, bool keepOwner = false)
    {
        var normalizedEmail = email is null ? null : ContactFormats.NormalizeEmail(email);
        var normalizedPhone = phone is null ? null : ContactFormats.NormalizePhone(phone);
        errors.RequireName(name, "name")
            .Require(email is null || normalizedEmail is not null, "email", "must be a valid email address")
            .Require(phone is null || normalizedPhone is not null, "phone", "must be a valid phone number (E.164, e.g. +998901234567)")
            .Require(email is not null || phone is not null, "email", "an email or a phone is required to log in")
            .Require(password is null || password.Length is >= AuthEndpoints.MinPasswordLength and <= AuthEndpoints.MaxPasswordLength, "password",
                $"must be {AuthEndpoints.MinPasswordLength} to {AuthEndpoints.MaxPasswordLength} characters")
            .Require(keepOwner || role is Roles.Admin or Roles.Manager or Roles.Cashier, "role", "must be admin, manager or cashier")
            .Require(position is null || position.Length <= 200, "position", "must be at most 200 characters")
            .Require(storeIds.Count <= 1000, "storeIds", "must hold at most 1000 stores");
        for (var i = 0; i < storeIds.Count && i < 1000; i++)
            if (await tenant.GetStoreAsync(storeIds[i]) is null)
                errors.Add($"storeIds[{i}]", $"store {storeIds[i]} does not exist");
        return errors.Any ? null : new EmployeeFields(name!.Trim(), normalizedEmail, normalizedPhone, keepOwner ? Roles.Owner : role!, position, storeIds, password);
    }

    private static ProblemHttpResult NotFound(Guid id) => ApiProblems.NotFound("employee.not_found", $"Employee {id} does not exist.");

    private static ProblemHttpResult OwnerProtected() =>
        ApiProblems.Conflict("employee.owner_protected", "The owner cannot be demoted or deleted; the owner may transfer ownership.");


    private static ProblemHttpResult Conflict(EmployeeConflict conflict) => conflict switch
    {
        EmployeeConflict.Phone => ApiProblems.Conflict("employee.phone_taken", "A user with this phone already exists."),
        EmployeeConflict.Changed => ApiProblems.Conflict("employee.changed_concurrently",
            "The employee changed while this request ran (role, stores, credentials or employment); nothing was written. Read it again and retry."),
        _ => ApiProblems.Conflict("employee.email_taken", "A user with this email already exists."),
    };
}
