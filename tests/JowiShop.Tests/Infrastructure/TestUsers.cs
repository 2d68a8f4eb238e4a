using JowiShop.ApiHost.Features.Auth;
using Npgsql;

namespace JowiShop.Tests.Infrastructure;

public static class TestUsers
{
    public const string Password = "Staff#12345";

    /// <summary>
    /// Adds a staff user with this role to a tenant (as an admin would), employed at the given stores
    /// (default: every store the tenant has now), and logs in as them.
    /// </summary>
    public static async Task<HttpClient> AddAndLoginAsync(ApiFactory factory, Guid tenantId, string role, IReadOnlyList<Guid>? storeIds = null) =>
        (await AddAsync(factory, tenantId, role, storeIds)).Client;

    /// <summary>As <see cref="AddAndLoginAsync"/>, also returning the user's and employee's ids and login.</summary>
    public static async Task<(HttpClient Client, Guid UserId, Guid EmployeeId, string Email)> AddAsync(ApiFactory factory, Guid tenantId, string role,
        IReadOnlyList<Guid>? storeIds = null)
    {
        var email = $"{role}-{Guid.NewGuid():N}@example.com";
        var (userId, employeeId) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        await using var db = NpgsqlDataSource.Create(factory.PostgresConnectionString);
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(Command("INSERT INTO users (id, tenant_id, name, email, password_hash, role) VALUES ($1, $2, $3, $4, $5, $6)",
            userId, tenantId, $"Test {role}", email, Accounts.HashPassword(Password), role));
        batch.BatchCommands.Add(Command("INSERT INTO employees (id, tenant_id, user_id, position) VALUES ($1, $2, $3, 'Test')",
            employeeId, tenantId, userId));
        batch.BatchCommands.Add(storeIds is null
            ? Command("INSERT INTO employee_stores (tenant_id, employee_id, store_id) SELECT $1, $2, id FROM stores WHERE tenant_id = $1 AND deleted_at IS NULL",
                tenantId, employeeId)
            : Command("INSERT INTO employee_stores (tenant_id, employee_id, store_id) SELECT $1, $2, s FROM unnest($3::uuid[]) s",
                tenantId, employeeId, storeIds.ToArray()));
        await batch.ExecuteNonQueryAsync();
        return (await factory.LoginAsync(email, Password), userId, employeeId, email);
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        return command;
    }
}
