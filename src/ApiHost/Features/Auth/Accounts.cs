using JowiShop.Grains.Persistence;
using JowiShop.Grains.Abstractions;
using Microsoft.AspNetCore.Identity;
using Npgsql;

namespace JowiShop.ApiHost.Features.Auth;

/// <summary>A user as login needs it.</summary>
public sealed record Account(Guid Id, Guid TenantId, string Name, string Role, string PasswordHash);

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

    /// <summary>The account whose email or E.164 phone is <paramref name="login"/> and whose password matches, else null.</summary>
    public async Task<Account?> VerifyAsync(string login, bool isEmail, string password, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(isEmail
            ? "SELECT id, tenant_id, name, role, password_hash FROM users WHERE lower(email) = $1 AND deleted_at IS NULL"
            : "SELECT id, tenant_id, name, role, password_hash FROM users WHERE phone = $1 AND deleted_at IS NULL");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = login });
        Account? account = null;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            if (await reader.ReadAsync(ct))
                account = new Account(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetString(4));
        }

        var result = await hashGate.RunAsync(() => Hasher.VerifyHashedPassword(account!, account?.PasswordHash ?? DecoyHash, password), ct);
        return account is not null && result != PasswordVerificationResult.Failed ? account : null;
    }

}
