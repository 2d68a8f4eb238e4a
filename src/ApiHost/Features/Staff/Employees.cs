using JowiShop.Grains.Persistence;
using JowiShop.ApiHost.Features.Auth;
using JowiShop.Grains.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace JowiShop.ApiHost.Features.Staff;

public sealed record Employee(Guid Id, Guid UserId, string Name, string? Email, string? Phone, string Role, string? Position,
    IReadOnlyList<Guid> StoreIds, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>An employee's fields as a write sets them; a null password keeps the current one.</summary>
public sealed record EmployeeFields(string Name, string? Email, string? Phone, string Role, string? Position, IReadOnlyList<Guid> StoreIds, string? Password);

public enum EmployeeConflict
{
    None,
    Email,
    Phone,
    /// <summary>The employee (or the owner, for a transfer) changed or left after the request read it: nothing was written.</summary>
    Changed,
}

/// <summary>Employees: a user (login, role) plus the employee row and its store assignments, written in one transaction.</summary>
public sealed class Employees(NpgsqlDataSource db, JowiShop.ApiHost.Infrastructure.PasswordHashGate hashGate)
{
    private const string Select =
        """
        SELECT e.id, u.id, u.name, u.email, u.phone, u.role, e.position,
               ARRAY(SELECT s.store_id FROM employee_stores s WHERE s.tenant_id = e.tenant_id AND s.employee_id = e.id ORDER BY s.store_id),
               e.created_at, greatest(e.updated_at, u.updated_at), count(*) OVER ()
        FROM employees e JOIN users u ON u.id = e.user_id AND u.tenant_id = e.tenant_id
        WHERE e.tenant_id = $1 AND e.deleted_at IS NULL
        """;

    public async Task<ListPage<Employee>> ListAsync(Guid tenantId, PageRequest page, Guid? storeId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(Select +
            " AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM employee_stores s WHERE s.tenant_id = e.tenant_id AND s.employee_id = e.id AND s.store_id = $2))" +
            " ORDER BY u.name, e.id LIMIT $3 OFFSET $4");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)storeId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = page.Limit });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = page.Offset });
        var items = new List<Employee>();
        long total = 0;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            items.Add(Read(reader));
            total = reader.GetInt64(10);
        }
        return new ListPage<Employee>(items, page.Page, page.Limit, total);
    }

    public async Task<Employee?> FindAsync(Guid tenantId, Guid id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(Select + " AND e.id = $2");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    public async Task<(EmployeeConflict Conflict, Guid Id)> CreateAsync(Guid tenantId, Guid actorId, EmployeeFields f, CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        var audit = AuditTrail.Entry(tenantId, actorId, "employee.created", "employee", id, details: new { f.Role, f.StoreIds });
        return (await WriteAsync(tenantId, id, Guid.CreateVersion7(), f, create: true, ct, audit: audit), id);
    }

    /// <summary>
    /// Writes the employee. Anything that changes what the user may do or how they log in (role,
    /// stores, password, email, phone) bumps their session version in the same transaction, ending
    /// every token they hold.
    /// </summary>
    public Task<EmployeeConflict> UpdateAsync(Guid tenantId, Guid actorId, Employee current, EmployeeFields f, CancellationToken ct)
    {
        // Which fields changed, never their secret values.
        var changed = new List<string>();
        if (f.Name != current.Name) changed.Add("name");
        if (f.Email != current.Email) changed.Add("email");
        if (f.Phone != current.Phone) changed.Add("phone");
        if (f.Position != current.Position) changed.Add("position");
        if (f.Password is not null) changed.Add("password");
        if (!SameStores(f.StoreIds, current.StoreIds)) changed.Add("storeIds");
        var roleChanged = f.Role != current.Role;
        var endSessions = roleChanged || changed.Any(c => c is "email" or "phone" or "password" or "storeIds");
        var audit = roleChanged
            ? AuditTrail.Entry(tenantId, actorId, "employee.role_changed", "employee", current.Id, details: new { from = current.Role, to = f.Role, changed })
            : AuditTrail.Entry(tenantId, actorId, "employee.updated", "employee", current.Id, details: new { changed, f.StoreIds });
        return WriteAsync(tenantId, current.Id, current.UserId, f, create: false, ct, endSessions, audit, seen: current);
    }

    /// <summary>Whether two store assignments name the same stores (order and repeats aside).</summary>
    public static bool SameStores(IReadOnlyList<Guid> a, IReadOnlyList<Guid> b) => a.ToHashSet().SetEquals(b);

    /// <summary>
    /// Makes <paramref name="successor"/> the owner and the current owner an admin, in one transaction
    /// (the database allows one owner per tenant); both users' sessions end.
    /// </summary>
    public async Task<EmployeeConflict> TransferOwnershipAsync(Guid tenantId, Guid ownerUserId, Employee successor, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        if (!await UnchangedAsync(connection, tx, tenantId, successor, ct) || !await IsOwnerAsync(connection, tx, tenantId, ownerUserId, ct))
            return EmployeeConflict.Changed;
        await using var batch = new NpgsqlBatch(connection, tx);
        batch.BatchCommands.Add(Sql.Command("UPDATE users SET role = 'admin', updated_at = now() WHERE tenant_id = $1 AND id = $2 AND role = 'owner'",
            tenantId, ownerUserId));
        batch.BatchCommands.Add(Sql.Command("UPDATE users SET role = 'owner', updated_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
            tenantId, successor.UserId));
        foreach (var command in Sessions.EndAll(tenantId, ownerUserId).Concat(Sessions.EndAll(tenantId, successor.UserId)))
            batch.BatchCommands.Add(command);
        batch.BatchCommands.Add(AuditTrail.Entry(tenantId, ownerUserId, "tenant.ownership_transferred", "employee", successor.Id,
            details: new { fromUserId = ownerUserId, toUserId = successor.UserId }));
        await batch.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return EmployeeConflict.None;
    }

    /// <summary>
    /// Locks the employee's rows and tells whether they are still as <paramref name="seen"/> (live, same
    /// last change): a write decided on a stale read (a concurrent demotion, deletion or transfer) must
    /// not undo or bypass that change.
    /// </summary>
    private static async Task<bool> UnchangedAsync(NpgsqlConnection connection, NpgsqlTransaction tx, Guid tenantId, Employee seen, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            """
            SELECT greatest(e.updated_at, u.updated_at)
            FROM employees e JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.user_id
            WHERE e.tenant_id = $1 AND e.id = $2 AND e.deleted_at IS NULL AND u.deleted_at IS NULL
            FOR UPDATE OF e, u
            """, connection, tx);
        Sql.Add(cmd.Parameters, tenantId, seen.Id);
        return await cmd.ExecuteScalarAsync(ct) is DateTime at && new DateTimeOffset(at, TimeSpan.Zero) == seen.UpdatedAt;
    }

    private static async Task<bool> IsOwnerAsync(NpgsqlConnection connection, NpgsqlTransaction tx, Guid tenantId, Guid userId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 AND role = 'owner' AND deleted_at IS NULL FOR UPDATE", connection, tx);
        Sql.Add(cmd.Parameters, tenantId, userId);
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }

    /// <summary>Soft-deletes the employee and its user, so the login stops working at once.</summary>
    public async Task<EmployeeConflict> DeleteAsync(Guid tenantId, Guid actorId, Employee employee, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        if (!await UnchangedAsync(connection, tx, tenantId, employee, ct))
            return EmployeeConflict.Changed;
        await using var batch = new NpgsqlBatch(connection, tx)
        {
            BatchCommands =
            {
                Sql.Command("UPDATE employees SET deleted_at = now() WHERE tenant_id = $1 AND id = $2", tenantId, employee.Id),
                Sql.Command("UPDATE users SET deleted_at = now() WHERE tenant_id = $1 AND id = $2", tenantId, employee.UserId),
            },
        };
        foreach (var command in Sessions.EndAll(tenantId, employee.UserId))
            batch.BatchCommands.Add(command);
        batch.BatchCommands.Add(AuditTrail.Entry(tenantId, actorId, "employee.deleted", "employee", employee.Id, details: new { employee.Role }));
        await batch.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return EmployeeConflict.None;
    }

    private async Task<EmployeeConflict> WriteAsync(Guid tenantId, Guid employeeId, Guid userId, EmployeeFields f, bool create, CancellationToken ct,
        bool endSessions = false, NpgsqlBatchCommand? audit = null, Employee? seen = null)
    {
        // Hashed before the transaction opens, through the same bounded gate as logins.
        var passwordHash = f.Password is null ? null : await hashGate.RunAsync(() => Accounts.HashPassword(f.Password), ct);
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        if (seen is not null && !await UnchangedAsync(connection, tx, tenantId, seen, ct))
            return EmployeeConflict.Changed;
        await using var batch = new NpgsqlBatch(connection, tx);
        object Text(string? v) => (object?)v ?? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
        if (create)
        {
            batch.BatchCommands.Add(Sql.Command(
                "INSERT INTO users (id, tenant_id, name, email, phone, password_hash, role) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                userId, tenantId, f.Name, Text(f.Email), Text(f.Phone), passwordHash!, f.Role));
            batch.BatchCommands.Add(Sql.Command("INSERT INTO employees (id, tenant_id, user_id, position) VALUES ($1, $2, $3, $4)",
                employeeId, tenantId, userId, Text(f.Position)));
        }
        else
        {
            batch.BatchCommands.Add(Sql.Command(
                "UPDATE users SET name = $3, email = $4, phone = $5, role = $6, password_hash = COALESCE($7, password_hash), updated_at = now() WHERE tenant_id = $1 AND id = $2",
                tenantId, userId, f.Name, Text(f.Email), Text(f.Phone), f.Role, Text(passwordHash)));
            batch.BatchCommands.Add(Sql.Command("UPDATE employees SET position = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
                tenantId, employeeId, Text(f.Position)));
            batch.BatchCommands.Add(Sql.Command("DELETE FROM employee_stores WHERE tenant_id = $1 AND employee_id = $2", tenantId, employeeId));
            if (endSessions)
                foreach (var command in Sessions.EndAll(tenantId, userId))
                    batch.BatchCommands.Add(command);
        }
        batch.BatchCommands.Add(Sql.Command(
            "INSERT INTO employee_stores (tenant_id, employee_id, store_id) SELECT $1, $2, s FROM unnest($3::uuid[]) AS s",
            tenantId, employeeId, f.StoreIds.Distinct().ToArray()));
        if (audit is not null)
            batch.BatchCommands.Add(audit);
        try
        {
            await batch.ExecuteNonQueryAsync(ct);
            await tx.CommitAsync(ct);
            return EmployeeConflict.None;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName is "ux_users_email" or "ux_users_phone")
        {
            return e.ConstraintName == "ux_users_phone" ? EmployeeConflict.Phone : EmployeeConflict.Email;
        }
    }

    private static Employee Read(NpgsqlDataReader r) => new(r.GetGuid(0), r.GetGuid(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
        r.IsDBNull(4) ? null : r.GetString(4), r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6), r.GetFieldValue<Guid[]>(7),
        r.GetFieldValue<DateTimeOffset>(8), r.GetFieldValue<DateTimeOffset>(9));

}
