using System.Security.Claims;
using System.Text.Json;
using JowiShop.ApiHost.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using NpgsqlTypes;

namespace JowiShop.ApiHost.Features.Audit;

/// <summary>One entry of the audit trail: who (<see cref="ActorId"/>, null when nobody was signed in) did what to what.</summary>
public sealed record AuditEntry(long Seq, DateTimeOffset At, Guid? ActorId, string Action, string? SubjectType, Guid? SubjectId, Guid? StoreId,
    JsonElement Details);

/// <summary>A page of entries, newest first; pass <see cref="NextBefore"/> as <c>before</c> for the next (older) page.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Items, long? NextBefore);

public static class AuditEndpoints
{
    public const int MaxLimit = 100;

    public static RouteGroupBuilder MapAuditEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/audit", List).WithTags("Audit").RequireAuthorization(Policies.Admin)
            .WithSummary("The audit trail, newest first: logins, failed logins, employee and role changes, price changes, discounts, refunds, "
                + "stock adjustments and transfers, tenant settings. Filters: action (exact, or a prefix ending in '.'), actorId, subjectId, "
                + "storeId, from, to; cursor paging with before.")
            .WithQueryBounds("limit", 1, MaxLimit, 50);
        return api;
    }

    private static async Task<Results<Ok<AuditPage>, ValidationProblem>> List(string? action, Guid? actorId, Guid? subjectId, Guid? storeId,
        DateTimeOffset? from, DateTimeOffset? to, long? before, int? limit, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Require(action is null || action.Length is >= 1 and <= 64 && action.All(c => char.IsAsciiLetterLower(c) || c is '.' or '_'), "action",
                "must be an action such as employee.role_changed, or a prefix such as employee.")
            .Require(before is null or > 0, "before", "must be the nextBefore of a previous page")
            .Require(limit is null or (>= 1 and <= MaxLimit), "limit", $"must be 1 to {MaxLimit}")
            .Require(from is null || to is null || from < to, "to", "must be after from");
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var take = limit ?? 50;
        // Newest first by seq. Sequence numbers are taken before commit, so an entry may become
        // visible after a page above it was read: a reader who must see everything re-reads from the
        // top (docs/security.md); the event feed of issue 14 is where gap-free following belongs.
        await using var cmd = db.CreateCommand(
            """
            SELECT seq, at, actor_id, action, subject_type, subject_id, store_id, details::text
            FROM audit_log
            WHERE tenant_id = $1 AND ($2::bigint IS NULL OR seq < $2)
              AND ($3::text IS NULL OR action = $3 OR (right($3, 1) = '.' AND starts_with(action, $3)))
              AND ($4::uuid IS NULL OR actor_id = $4) AND ($5::uuid IS NULL OR subject_id = $5) AND ($6::uuid IS NULL OR store_id = $6)
              AND ($7::timestamptz IS NULL OR at >= $7) AND ($8::timestamptz IS NULL OR at < $8)
            ORDER BY seq DESC
            LIMIT $9
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = user.GetTenantId() });
        foreach (var (value, type) in new (object?, NpgsqlDbType)[]
                 {
                     (before, NpgsqlDbType.Bigint), (action, NpgsqlDbType.Text), (actorId, NpgsqlDbType.Uuid), (subjectId, NpgsqlDbType.Uuid),
                     (storeId, NpgsqlDbType.Uuid), (from?.ToUniversalTime(), NpgsqlDbType.TimestampTz), (to?.ToUniversalTime(), NpgsqlDbType.TimestampTz),
                 })
            cmd.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value, NpgsqlDbType = type });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = take + 1 });
        var items = new List<AuditEntry>(take + 1);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            items.Add(new AuditEntry(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.IsDBNull(2) ? null : reader.GetGuid(2),
                reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetGuid(5),
                reader.IsDBNull(6) ? null : reader.GetGuid(6), JsonDocument.Parse(reader.GetString(7)).RootElement.Clone()));
        var more = items.Count > take;
        if (more)
            items.RemoveAt(take);
        return TypedResults.Ok(new AuditPage(items, more ? items[^1].Seq : null));
    }
}
