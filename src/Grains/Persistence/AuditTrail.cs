using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace JowiShop.Grains.Persistence;

/// <summary>
/// Entries of the append-only audit_log (migration 0014). Callers add <see cref="Entry"/> to the
/// batch of the change it records, so the entry commits or fails with the change.
/// </summary>
public static class AuditTrail
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>An audit entry; <paramref name="details"/> is serialized as camelCase JSON (never passwords or tokens).</summary>
    public static NpgsqlBatchCommand Entry(Guid tenantId, Guid? actorId, string action, string? subjectType = null, Guid? subjectId = null,
        Guid? storeId = null, object? details = null)
    {
        var command = new NpgsqlBatchCommand(
            "INSERT INTO audit_log (tenant_id, actor_id, action, subject_type, subject_id, store_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(Nullable(actorId));
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = action });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)subjectType ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(Nullable(subjectId));
        command.Parameters.Add(Nullable(storeId));
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = JsonSerializer.Serialize(details ?? new { }, Json) });
        return command;
    }

    private static NpgsqlParameter Nullable(Guid? id) => new() { Value = (object?)id ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid };
}
