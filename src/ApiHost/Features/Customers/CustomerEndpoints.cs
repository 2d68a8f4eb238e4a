using System.Security.Claims;
using System.Text.Json.Nodes;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Customers;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Features.Customers;

public sealed record CustomerRequest(string? Name, string? Phone, string? Email, string? CardCode, string? Notes);

public static class CustomerEndpoints
{
    public const int MaxNotes = 2000;
    public const int MaxCardCode = 64;

    public static RouteGroupBuilder MapCustomerEndpoints(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/customers").WithTags("Customers");
        group.MapGet("/", List).RequireAuthorization(Policies.Staff).WithSummary("Customers by name; query matches name, phone digits or email prefix.");
        group.MapGet("/{id:guid}", Get).RequireAuthorization(Policies.Staff).WithSummary("One customer.")
            .ProducesProblems(404, "customer.not_found");
        group.MapGet("/by-phone/{phone}", ByPhone).RequireAuthorization(Policies.Staff).WithSummary("The customer with this phone (any common spelling).")
            .ProducesProblems(404, "customer.not_found");
        group.MapGet("/by-email/{email}", ByEmail).RequireAuthorization(Policies.Staff).WithSummary("The customer with this email.")
            .ProducesProblems(404, "customer.not_found");
        group.MapGet("/by-card/{code}", ByCard).RequireAuthorization(Policies.Staff).WithSummary("The customer with this loyalty card.")
            .ProducesProblems(404, "customer.not_found");
        group.MapPost("/", Create).RequireAuthorization(Policies.Manager).WithSummary("Create a customer.")
            .ProducesProblems(409, "customer.phone_taken", "customer.card_taken");
        group.MapPatch("/{id:guid}", Update).RequireAuthorization(Policies.Manager).WithSummary("Change a customer (absent: unchanged; null: cleared).")
            .ProducesProblems(404, "customer.not_found").ProducesProblems(409, "customer.phone_taken", "customer.card_taken")
            .AcceptsMergePatch<CustomerRequest>(["phone", "email", "cardCode", "notes"]);
        group.MapDelete("/{id:guid}", Delete).RequireAuthorization(Policies.Manager).WithSummary("Soft-delete a customer; old receipts keep it.")
            .ProducesProblems(404, "customer.not_found");
        return api;
    }

    private static async Task<Results<Ok<ListPage<Customer>>, ValidationProblem>> List(int? page, int? limit, string? query, ClaimsPrincipal user,
        IGrainFactory grains)
    {
        Paging.TryCreate(page, limit, out var request, out var errors);
        errors.Require(query is null || query.Trim().Length is >= 2 and <= 100, "query", "must be 2 to 100 characters");
        if (errors.Any)
            return ApiProblems.Validation(errors);
        return TypedResults.Ok(await Directory(grains, user).ListAsync(request, query?.Trim()));
    }

    private static async Task<Results<Ok<Customer>, ProblemHttpResult>> Get(Guid id, ClaimsPrincipal user, IGrainFactory grains) =>
        Found(await Directory(grains, user).GetAsync(id), $"Customer {id} does not exist.");

    private static async Task<Results<Ok<Customer>, ProblemHttpResult, ValidationProblem>> ByPhone(string phone, ClaimsPrincipal user, IGrainFactory grains)
    {
        var normalized = ContactFormats.NormalizePhone(phone);
        if (normalized is null)
            return ApiProblems.Validation(new FieldErrors().Add("phone", "must be a valid phone number (E.164, e.g. +998901234567)"));
        var customer = await Directory(grains, user).FindAsync(CustomerKey.Phone, normalized);
        return customer is null ? NotFound($"No customer has phone {normalized}.") : TypedResults.Ok(customer);
    }

    private static async Task<Results<Ok<Customer>, ProblemHttpResult>> ByEmail(string email, ClaimsPrincipal user, IGrainFactory grains)
    {
        var normalized = ContactFormats.NormalizeEmail(email);
        return Found(normalized is null ? null : await Directory(grains, user).FindAsync(CustomerKey.Email, normalized), $"No customer has email {email}.");
    }

    private static async Task<Results<Ok<Customer>, ProblemHttpResult>> ByCard(string code, ClaimsPrincipal user, IGrainFactory grains) =>
        Found(code.Length <= MaxCardCode ? await Directory(grains, user).FindAsync(CustomerKey.Card, code) : null, $"No customer has card {code}.");

    private static async Task<Results<Created<Customer>, ValidationProblem, ProblemHttpResult>> Create(CustomerRequest request, ClaimsPrincipal user,
        IGrainFactory grains)
    {
        var errors = new FieldErrors();
        var fields = Validate(request.Name, request.Phone, request.Email, request.CardCode, request.Notes, errors);
        if (fields is null)
            return ApiProblems.Validation(errors);
        var (customer, conflict, conflictingId) = await Directory(grains, user).CreateAsync(fields);
        return customer is null ? Conflict(conflict, conflictingId) : TypedResults.Created($"/api/v1/customers/{customer.Id}", customer);
    }

    private static async Task<Results<Ok<Customer>, ValidationProblem, ProblemHttpResult>> Update(Guid id, JsonObject body, ClaimsPrincipal user,
        IGrainFactory grains)
    {
        var directory = Directory(grains, user);
        var current = await directory.GetAsync(id);
        if (current is null)
            return NotFound($"Customer {id} does not exist.");
        var patch = new PatchBody(body, new FieldErrors(), "name", "phone", "email", "cardCode", "notes");
        string? Field(string name, string? existing) => patch.Has(name) ? patch.Get<string>(name) : existing;
        var fields = Validate(Field("name", current.Name), Field("phone", current.Phone), Field("email", current.Email),
            Field("cardCode", current.CardCode), Field("notes", current.Notes), patch.Errors);
        if (fields is null)
            return ApiProblems.Validation(patch.Errors);
        var (customer, conflict, conflictingId) = await directory.UpdateAsync(id, fields);
        return customer is null
            ? conflict == CustomerConflict.None ? NotFound($"Customer {id} does not exist.") : Conflict(conflict, conflictingId)
            : TypedResults.Ok(customer);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(Guid id, ClaimsPrincipal user, IGrainFactory grains) =>
        await Directory(grains, user).DeleteAsync(id) ? TypedResults.NoContent() : NotFound($"Customer {id} does not exist.");

    private static ICustomerDirectoryGrain Directory(IGrainFactory grains, ClaimsPrincipal user) =>
        grains.Reference<ICustomerDirectoryGrain>(user.GetTenantId());

    private static CustomerFields? Validate(string? name, string? phone, string? email, string? cardCode, string? notes, FieldErrors errors)
    {
        var normalizedPhone = phone is null ? null : ContactFormats.NormalizePhone(phone);
        var normalizedEmail = email is null ? null : ContactFormats.NormalizeEmail(email);
        errors.RequireName(name, "name")
            .Require(phone is null || normalizedPhone is not null, "phone", "must be a valid phone number (E.164, e.g. +998901234567)")
            .Require(email is null || normalizedEmail is not null, "email", "must be a valid email address")
            .Require(cardCode is null || cardCode.Length is >= 1 and <= MaxCardCode && cardCode.All(c => c is > ' ' and <= '~'), "cardCode",
                $"must be 1 to {MaxCardCode} printable ASCII characters without spaces")
            .Require(notes is null || notes.Length <= MaxNotes, "notes", $"must be at most {MaxNotes} characters");
        return errors.Any ? null : new CustomerFields(name!.Trim(), normalizedPhone, normalizedEmail, cardCode, notes);
    }

    private static Results<Ok<Customer>, ProblemHttpResult> Found(Customer? customer, string detail) =>
        customer is null ? NotFound(detail) : TypedResults.Ok(customer);

    private static ProblemHttpResult NotFound(string detail) => ApiProblems.NotFound("customer.not_found", detail);

    private static ProblemHttpResult Conflict(CustomerConflict conflict, Guid? conflictingId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict",
            detail: conflict == CustomerConflict.Card
                ? $"This card code belongs to customer {conflictingId}."
                : $"This phone belongs to customer {conflictingId}.",
            extensions: new Dictionary<string, object?>
            {
                ["code"] = conflict == CustomerConflict.Card ? "customer.card_taken" : "customer.phone_taken",
                ["conflictingId"] = conflictingId,
            });
}
