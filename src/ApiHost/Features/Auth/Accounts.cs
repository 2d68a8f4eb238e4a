using JowiShop.Grains.Persistence;
using JowiShop.Grains.Abstractions;
using Microsoft.AspNetCore.Identity;
using Npgsql;

namespace JowiShop.ApiHost.Features.Auth;

/// <summary>A user as login needs it.</summary>
public sealed record Account(Guid Id, Guid TenantId, string Name, string Role, string PasswordHash, long SessionVersion)
{
    public SessionUser SessionUser => new(Id, TenantId, Name, Role, SessionVersion);
}

public sealed record Registration(Guid TenantId, Guid UserId, Guid StoreId);

public enum RegistrationConflict { None, Email, Phone }

/// <summary>
/// Users' logins and tenant registration: the SQL that owns the users table's auth columns.
/// Passwords are hashed with ASP.NET Core Identity's PasswordHasher (PBKDF2-HMAC-SHA512, 100,000 iterations, salted).
/// </summary>
public sealed class Accounts(NpgsqlDataSource db, JowiShop.ApiHost.Infrastructure.PasswordHashGate hashGate)
{
    private static readonly PasswordHasher<Account> Hasher = new();
    // Verified against when the login is unknown, so that unknown users and wrong passwords take the same time.
    private static readonly string DecoyHash = Hasher.HashPassword(null!, Guid.NewGuid().ToString());

    public static string HashPassword(string password) => Hasher.HashPassword(null!, password);

    public async Task<(Registration? Registration, RegistrationConflict Conflict)> RegisterAsync(
        string businessName, string ownerName, string email, string phone, string password, CancellationToken ct)
    {
        var registration = new Registration(Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7());
        var employeeId = Guid.CreateVersion7();
        var hash = await hashGate.RunAsync(() => HashPassword(password), ct);

        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using var batch = new NpgsqlBatch(connection, tx)
        {
            BatchCommands =
            {
                Sql.Command("INSERT INTO tenants (id, name) VALUES ($1, $2)", registration.TenantId, businessName),
                Sql.Command("INSERT INTO users (id, tenant_id, name, email, phone, password_hash, role) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    registration.UserId, registration.TenantId, ownerName, email, phone, hash, Roles.Owner),
                Sql.Command("INSERT INTO employees (id, tenant_id, user_id, position) VALUES ($1, $2, $3, 'Owner')",
                    employeeId, registration.TenantId, registration.UserId),
                Sql.Command("INSERT INTO stores (id, tenant_id, name) VALUES ($1, $2, $3)",
                    registration.StoreId, registration.TenantId, businessName),
                Sql.Command("INSERT INTO employee_stores (tenant_id, employee_id, store_id) VALUES ($1, $2, $3)",
                    registration.TenantId, employeeId, registration.StoreId),
            },
        };
        try
        {
            await batch.ExecuteNonQueryAsync(ct);
            await tx.CommitAsync(ct);
            return (registration, RegistrationConflict.None);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return (null, e.ConstraintName == "ux_users_phone" ? RegistrationConflict.Phone : RegistrationConflict.Email);
        }
    }

    private const string AccountColumns = "SELECT id, tenant_id, name, role, password_hash, session_version FROM users";

    /// <summary>The account whose email or E.164 phone is <paramref name="login"/> and whose password matches, else null.</summary>
    public async Task<Account?> VerifyAsync(string login, bool isEmail, string password, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(AccountColumns + (isEmail
            ? " WHERE lower(email) = $1 AND deleted_at IS NULL"
            : " WHERE phone = $1 AND deleted_at IS NULL"));
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = login });
        var (account, verified) = await VerifyAsync(cmd, password, ct);
        if (account is not null && !verified)
        {
            // A wrong password for a real user goes to the tenant's audit trail (unknown logins have no tenant: logged only).
            await using var audit = db.CreateBatch();
            audit.BatchCommands.Add(AuditTrail.Entry(account.TenantId, null, "auth.login_failed", "user", account.Id, details: new { login }));
            await audit.ExecuteNonQueryAsync(ct);
        }
        return verified ? account : null;
    }

    /// <summary>The live user with this id, when <paramref name="password"/> is their password; else null.</summary>
    public async Task<Account?> VerifyByIdAsync(Guid tenantId, Guid userId, string password, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(AccountColumns + " WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL");
        Sql.Add(cmd.Parameters, tenantId, userId);
        var (account, verified) = await VerifyAsync(cmd, password, ct);
        return verified ? account : null;
    }

    /// <summary>
    /// Reads the account the command selects and checks the password against it, or against a decoy
    /// when there is none (the same time either way). Overlong passwords are never hashed.
    /// </summary>
    private async Task<(Account? Account, bool Verified)> VerifyAsync(NpgsqlCommand cmd, string password, CancellationToken ct)
    {
        Account? account = null;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            if (await reader.ReadAsync(ct))
                account = new Account(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetInt64(5));
        }
        if (password.Length > AuthEndpoints.MaxPasswordLength)
            return (account, false);
        var result = await hashGate.RunAsync(() => Hasher.VerifyHashedPassword(account!, account?.PasswordHash ?? DecoyHash, password), ct);
        return (account, account is not null && result != PasswordVerificationResult.Failed);
    }

    /// <summary>The 403 for a wrong current password (password change, ownership transfer).</summary>
    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult CurrentPasswordIncorrect() =>
        JowiShop.ApiHost.Infrastructure.ApiProblems.Forbidden("auth.current_password_incorrect", "The current password is incorrect.");

    /// <summary>Sets a new password and ends every session of the user; returns the new session version.</summary>
    public async Task<long> ChangePasswordAsync(Guid tenantId, Guid userId, string newPassword, CancellationToken ct)
    {
        var hash = await hashGate.RunAsync(() => HashPassword(newPassword), ct);
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using var batch = new NpgsqlBatch(connection, tx);
        // EndAll's first statement returns the new session version.
        foreach (var command in Sessions.EndAll(tenantId, userId))
            batch.BatchCommands.Add(command);
        batch.BatchCommands.Add(Sql.Command("UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND id = $2", tenantId, userId, hash));
        batch.BatchCommands.Add(AuditTrail.Entry(tenantId, userId, "auth.password_changed", "user", userId));
        var version = (long)(await batch.ExecuteScalarAsync(ct))!;
        await tx.CommitAsync(ct);
        return version;
    }

    /// <summary>Ends every session of the user (logout): bumps the session version, revokes refresh tokens.</summary>
    public async Task EndSessionsAsync(Guid tenantId, Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using var batch = new NpgsqlBatch(connection, tx);
        foreach (var command in Sessions.EndAll(tenantId, userId))
            batch.BatchCommands.Add(command);
        batch.BatchCommands.Add(AuditTrail.Entry(tenantId, userId, "auth.logout", "user", userId));
        await batch.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
    }

}
