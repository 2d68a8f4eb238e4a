using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Staff;
using JowiShop.Grains.Persistence;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JowiShop.Grains.Staff;

/// <summary>
/// A user's session version, role and store assignments in memory (see <see cref="IStaffAccessGrain"/>).
/// A user that does not exist keeps no activation: a token naming one is refused and the grain
/// deactivates at once, so made-up ids cost nothing after the answer.
/// </summary>
public sealed class StaffAccessGrain(NpgsqlDataSource db, ILogger<StaffAccessGrain> log) : Grain, IStaffAccessGrain
{
    // Writers reload this grain after their commit; should that call be lost (the writer's process
    // died between the two), this re-read bounds how long the old access can outlive the change.
    private static readonly TimeSpan Reread = TimeSpan.FromSeconds(30);

    private Guid _userId;
    private Guid _tenantId;
    private StaffAccess? _access;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _userId = this.GetPrimaryKey(out var tenant);
        _tenantId = Guid.Parse(tenant!);
        await LoadAsync(cancellationToken);
        this.RegisterGrainTimer(RereadAsync, Reread, Reread);
    }

    private async Task RereadAsync(CancellationToken ct)
    {
        try
        {
            await LoadAsync(ct);
        }
        catch (DatabaseFailureException e)
        {
            // Keep what is known: refusing everyone during a database outage would stop every till.
            log.LogWarning(e, "Re-reading the access of user {UserId} failed", _userId);
        }
    }

    public Task<StaffAccess?> GetAsync()
    {
        if (_access is null)
            DeactivateOnIdle();
        return Task.FromResult(_access);
    }

    public async Task<StaffAccess?> ReloadAsync()
    {
        try
        {
            await LoadAsync(CancellationToken.None);
        }
        catch
        {
            // The change is committed but unread: refuse the user (fail closed) until a fresh
            // activation reads it, rather than keep serving what may just have been revoked.
            _access = null;
            DeactivateOnIdle();
            throw;
        }
        return await GetAsync();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        try
        {
            await using var cmd = db.CreateCommand(
                """
                SELECT u.session_version, u.role,
                       ARRAY(SELECT s.store_id FROM employees e JOIN employee_stores s ON s.tenant_id = e.tenant_id AND s.employee_id = e.id
                             WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND e.deleted_at IS NULL ORDER BY s.store_id)
                FROM users u
                WHERE u.tenant_id = $1 AND u.id = $2 AND u.deleted_at IS NULL
                """);
            cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _tenantId });
            cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _userId });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            _access = await reader.ReadAsync(ct)
                ? new StaffAccess(reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<Guid[]>(2))
                : null;
        }
        catch (NpgsqlException e)
        {
            throw DatabaseFailures.Translate(e); // activation failures bypass the call filter
        }
    }
}
