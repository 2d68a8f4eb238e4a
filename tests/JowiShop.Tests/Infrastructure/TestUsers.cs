using JowiShop.ApiHost.Features.Auth;
using Npgsql;

namespace JowiShop.Tests.Infrastructure;

public static class TestUsers
{
    public const string Password = "Staff#12345";

    /// <summary>Adds a staff user with this role to a tenant (as an admin would) and logs in as them.</summary>
    public static async Task<HttpClient> AddAndLoginAsync(ApiFactory factory, Guid tenantId, string role)
    {
        var email = $"{role}-{Guid.NewGuid():N}@example.com";
        await using var db = NpgsqlDataSource.Create(factory.PostgresConnectionString);
        await using var cmd = db.CreateCommand(
            "INSERT INTO users (id, tenant_id, name, email, password_hash, role) VALUES ($1, $2, $3, $4, $5, $6)");
        cmd.Parameters.AddWithValue(Guid.CreateVersion7());
        cmd.Parameters.AddWithValue(tenantId);
        cmd.Parameters.AddWithValue($"Test {role}");
        cmd.Parameters.AddWithValue(email);
        cmd.Parameters.AddWithValue(Accounts.HashPassword(Password));
        cmd.Parameters.AddWithValue(role);
        await cmd.ExecuteNonQueryAsync();
        return await factory.LoginAsync(email, Password);
    }
}
