using System.Security.Claims;
using System.Text.Json.Nodes;
using JowiShop.ApiHost.Features.Taxes;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using NpgsqlTypes;

namespace JowiShop.ApiHost.Features.Products;

/// <summary><c>taxRateId</c>: the rate of the category's variants that set none (null: the parent's, else the tenant default).</summary>
public sealed record Category(Guid Id, string Name, Guid? ParentId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, Guid? TaxRateId);

public sealed record CategoryRequest(string? Name, Guid? ParentId, Guid? TaxRateId = null);

/// <summary>Categories (optionally nested): plain SQL, one round trip per request.</summary>
public static class CategoryEndpoints
{
    private const string Columns = "id, name, parent_id, created_at, updated_at, tax_rate_id";

    public static RouteGroupBuilder MapCategoryEndpoints(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/categories").WithTags("Categories");
        group.MapGet("/", List).RequireAuthorization(Policies.Staff).WithSummary("Categories by name; filter: parentId.");
        group.MapGet("/{id:guid}", Get).RequireAuthorization(Policies.Staff).WithSummary("One category.")
            .ProducesProblems(404, "category.not_found");
        group.MapPost("/", Create).RequireAuthorization(Policies.Manager).WithSummary("Create a category, optionally under a parent.");
        group.MapPatch("/{id:guid}", Update).RequireAuthorization(Policies.Manager).WithSummary("Rename or move a category (no cycles).")
            .ProducesProblems(404, "category.not_found")
            .AcceptsMergePatch<CategoryRequest>(["parentId", "taxRateId"]);
        group.MapDelete("/{id:guid}", Delete).RequireAuthorization(Policies.Manager).WithSummary("Soft-delete a category with no live children or products.")
            .ProducesProblems(404, "category.not_found").ProducesProblems(409, "category.in_use");
        return api;
    }

    private static async Task<Results<Ok<ListPage<Category>>, ValidationProblem>> List(int? page, int? limit, Guid? parentId, ClaimsPrincipal user,
        NpgsqlDataSource db, CancellationToken ct)
    {
        if (!Paging.TryCreate(page, limit, out var request, out var errors))
            return ApiProblems.Validation(errors);
        await using var cmd = db.CreateCommand(
            $"""
            SELECT {Columns}, count(*) OVER () FROM categories
            WHERE tenant_id = $1 AND deleted_at IS NULL AND ($2::uuid IS NULL OR parent_id = $2)
            ORDER BY name, id LIMIT $3 OFFSET $4
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = user.GetTenantId() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)parentId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = request.Limit });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = request.Offset });
        var items = new List<Category>();
        long total = 0;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            items.Add(Read(reader));
            total = reader.GetInt64(6);
        }
        return TypedResults.Ok(new ListPage<Category>(items, request.Page, request.Limit, total));
    }

    private static async Task<Results<Ok<Category>, ProblemHttpResult>> Get(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct) =>
        await FindAsync(db, user.GetTenantId(), id, ct) is { } category ? TypedResults.Ok(category) : NotFound(id);

    private static async Task<Results<Created<Category>, ValidationProblem>> Create(CategoryRequest request, ClaimsPrincipal user, NpgsqlDataSource db,
        IGrainFactory grains, CancellationToken ct)
    {
        var tenantId = user.GetTenantId();
        var errors = new FieldErrors().RequireName(request.Name, "name");
        if (request.ParentId is { } parent && await FindAsync(db, tenantId, parent, ct) is null)
            errors.Add("parentId", $"category {parent} does not exist");
        await TaxEndpoints.RequireRatesAsync(grains, user, [("taxRateId", request.TaxRateId)], errors);
        if (errors.Any)
            return ApiProblems.Validation(errors);
        await using var cmd = db.CreateCommand(
            $"INSERT INTO categories (id, tenant_id, name, parent_id, tax_rate_id) VALUES ($1, $2, $3, $4, $5) RETURNING {Columns}");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = Guid.CreateVersion7() });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = request.Name!.Trim() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)request.ParentId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)request.TaxRateId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        Category category;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            category = Read(reader);
        }
        await CategoriesChangedAsync(grains, tenantId);
        return TypedResults.Created($"/api/v1/categories/{category.Id}", category);
    }

    private static async Task<Results<Ok<Category>, ValidationProblem, ProblemHttpResult>> Update(Guid id, JsonObject body, ClaimsPrincipal user,
        NpgsqlDataSource db, IGrainFactory grains, CancellationToken ct)
    {
        var tenantId = user.GetTenantId();
        if (await FindAsync(db, tenantId, id, ct) is not { } current)
            return NotFound(id);
        var patch = new PatchBody(body, new FieldErrors(), "name", "parentId", "taxRateId");
        var taxRateId = patch.Has("taxRateId") ? patch.Get<Guid?>("taxRateId") : current.TaxRateId;
        if (patch.Has("taxRateId"))
            await TaxEndpoints.RequireRatesAsync(grains, user, [("taxRateId", taxRateId)], patch.Errors);
        var name = patch.Has("name") ? patch.Get<string>("name") : current.Name;
        var parentId = patch.Has("parentId") ? patch.Get<Guid?>("parentId") : current.ParentId;
        patch.Errors.RequireName(name, "name");
        if (parentId is { } parent && parent != current.ParentId)
        {
            if (await FindAsync(db, tenantId, parent, ct) is null)
                patch.Errors.Add("parentId", $"category {parent} does not exist");
            else if (await IsAncestorOrSelfAsync(db, tenantId, id, parent, ct))
                patch.Errors.Add("parentId", "would make the category its own ancestor");
        }
        if (patch.Errors.Any)
            return ApiProblems.Validation(patch.Errors);
        await using var cmd = db.CreateCommand(
            $"UPDATE categories SET name = $3, parent_id = $4, tax_rate_id = $5, updated_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING {Columns}");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name!.Trim() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)parentId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)taxRateId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        Category? updated = null;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            if (await reader.ReadAsync(ct))
                updated = Read(reader);
        if (updated is null)
            return NotFound(id);
        await CategoriesChangedAsync(grains, user.GetTenantId());
        return TypedResults.Ok(updated);
    }

    /// <summary>
    /// Committed, and before answering: the tenant grain reloads the categories' rates, so a sale sent after
    /// this answer is charged by them (the store grains' next config carries them). A failure is an error answer.
    /// </summary>
    private static Task CategoriesChangedAsync(IGrainFactory grains, Guid tenantId) =>
        grains.Reference<ITenantGrain>(tenantId).CategoriesChangedAsync();

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        // One statement: delete only when nothing live hangs below it, and say which case it was.
        await using var cmd = db.CreateCommand(
            """
            WITH target AS (SELECT id FROM categories WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL),
                 in_use AS (SELECT EXISTS (SELECT 1 FROM categories WHERE tenant_id = $1 AND parent_id = $2 AND deleted_at IS NULL)
                                OR EXISTS (SELECT 1 FROM products WHERE tenant_id = $1 AND category_id = $2 AND deleted_at IS NULL) AS used),
                 deleted AS (UPDATE categories SET deleted_at = now() WHERE id IN (SELECT id FROM target) AND NOT (SELECT used FROM in_use) RETURNING id)
            SELECT EXISTS (SELECT 1 FROM target), (SELECT used FROM in_use), EXISTS (SELECT 1 FROM deleted)
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = user.GetTenantId() });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetBoolean(0), reader.GetBoolean(1)) switch
        {
            (false, _) => NotFound(id),
            (true, true) => ApiProblems.Conflict("category.in_use", $"Category {id} still has live subcategories or products."),
            _ => TypedResults.NoContent(),
        };
    }

    private static async Task<Category?> FindAsync(NpgsqlDataSource db, Guid tenantId, Guid id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"SELECT {Columns} FROM categories WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static async Task<bool> IsAncestorOrSelfAsync(NpgsqlDataSource db, Guid tenantId, Guid category, Guid candidateParent, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            """
            WITH RECURSIVE up AS (
                SELECT id, parent_id FROM categories WHERE tenant_id = $1 AND id = $3
                UNION SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id WHERE c.tenant_id = $1)
            SELECT EXISTS (SELECT 1 FROM up WHERE id = $2)
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = category });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = candidateParent });
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static Category Read(NpgsqlDataReader r) =>
        new(r.GetGuid(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetGuid(2), r.GetFieldValue<DateTimeOffset>(3), r.GetFieldValue<DateTimeOffset>(4),
            r.IsDBNull(5) ? null : r.GetGuid(5));

    private static ProblemHttpResult NotFound(Guid id) => ApiProblems.NotFound("category.not_found", $"Category {id} does not exist.");
}
