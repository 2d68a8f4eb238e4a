using System.Diagnostics;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Staff;
using JowiShop.Grains.Persistence;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JowiShop.Grains.Staff;

/// <summary>
/// A user's session version, role and store assignments in memory (see <see cref="IStaffAccessGrain"/>),
/// and the processes holding a lease of them. A reload after a committed change answers only when
/// no process can still answer from the old access: every holder acknowledged the revocation, or
/// its lease has run out. A user that does not exist keeps no activation.
/// </summary>
public sealed class StaffAccessGrain(NpgsqlDataSource db, ILogger<StaffAccessGrain> log) : Grain, IStaffAccessGrain
{
    // Writers reload this grain after their commit; should that call be lost (the writer's process
    // died between the two), this re-read bounds how long the old access can outlive the change.
    private static readonly TimeSpan Reread = TimeSpan.FromSeconds(30);
    private static readonly long LeaseTicks = (long)(IStaffAccessGrain.LeaseDuration.TotalSeconds * Stopwatch.Frequency);

    private Guid _userId;
    private Guid _tenantId;
    private StaffAccess? _access;
    private long _version;
    // Holder -> end of its lease on this grain's clock (the holder's own clock ends it earlier).
    private readonly Dictionary<IStaffAccessHolder, long> _holders = [];
    private long _activatedAt;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _userId = this.GetPrimaryKey(out var tenant);
        _tenantId = Guid.Parse(tenant!);
        _activatedAt = Stopwatch.GetTimestamp();
        await LoadAsync(cancellationToken);
        this.RegisterGrainTimer(RereadAsync, Reread, Reread);
    }

    // A graceful deactivation (idle, shutdown, rebalancing) hands over cleanly: the next activation
    // knows no holders, so none may keep a lease from this one.
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        RevokeLeasesAsync(coverEarlierActivation: false);

    public Task<StaffAccess?> GetAsync()
    {
        if (_access is null)
            DeactivateOnIdle();
        return Task.FromResult(_access);
    }

    public Task<StaffLease> LeaseAsync(IStaffAccessHolder holder)
    {
        var now = Stopwatch.GetTimestamp();
        if (_access is null)
            DeactivateOnIdle(); // nothing to lease: the holder keeps no entry for an unknown or deleted user
        else
        {
            foreach (var expired in _holders.Where(h => h.Value <= now).Select(h => h.Key).ToArray())
                _holders.Remove(expired);
            _holders[holder] = now + LeaseTicks;
        }
        return Task.FromResult(new StaffLease(_access, _version));
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
            // Holders may still answer from the old access until their leases run out: the writer's
            // answer (an error) must not come before that.
            var wait = Math.Max(_holders.Values.DefaultIfEmpty(0L).Max(), _activatedAt + LeaseTicks) - Stopwatch.GetTimestamp();
            if (wait > 0)
                await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
            throw;
        }
        await RevokeLeasesAsync();
        return await GetAsync();
    }

    /// <summary>
    /// Returns once no lease of the old access can be answered from: revoked by every holder that
    /// answers, run out for the others, and for leases an earlier activation of this grain may have
    /// granted before it died with its silo, one lease length after this activation began (a write
    /// to a user whose grain has just activated waits up to a second).
    /// </summary>
    private async Task RevokeLeasesAsync(bool coverEarlierActivation = true)
    {
        var now = Stopwatch.GetTimestamp();
        var holders = _holders.Where(h => h.Value > now).ToArray();
        _holders.Clear();
        var until = await Task.WhenAll(holders.Select(async h =>
        {
            try
            {
                await h.Key.RevokeAsync(_tenantId, _userId, _version).WaitAsync(IStaffAccessGrain.LeaseDuration);
                return 0L;
            }
            catch (Exception e)
            {
                log.LogWarning(e, "A holder of user {UserId}'s access did not acknowledge its revocation; waiting for its lease to run out", _userId);
                return h.Value;
            }
        }));
        var wait = Math.Max(until.DefaultIfEmpty(0L).Max(), coverEarlierActivation ? _activatedAt + LeaseTicks : 0L) - Stopwatch.GetTimestamp();
        if (wait > 0)
            await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
    }

    private async Task RereadAsync(CancellationToken ct)
    {
        var version = _version;
        try
        {
            await LoadAsync(ct);
        }
        catch (DatabaseFailureException e)
        {
            // Keep what is known: refusing everyone during a database outage would stop every till.
            log.LogWarning(e, "Re-reading the access of user {UserId} failed", _userId);
            return;
        }
        if (_version != version)
            await RevokeLeasesAsync();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        try
        {
            await using var cmd = db.CreateCommand(
                """
                SELECT u.session_version, u.role, u.deleted_at IS NOT NULL,
                       ARRAY(SELECT s.store_id FROM employees e JOIN employee_stores s ON s.tenant_id = e.tenant_id AND s.employee_id = e.id
                             WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND e.deleted_at IS NULL ORDER BY s.store_id)
                FROM users u
                WHERE u.tenant_id = $1 AND u.id = $2
                """);
            cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _tenantId });
            cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _userId });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct))
            {
                // Every change of role, stores or employment bumps the version (deletion too), so
                // versions order the states a holder may have seen.
                _version = reader.GetInt64(0);
                _access = reader.GetBoolean(2) ? null : new StaffAccess(_version, reader.GetString(1), reader.GetFieldValue<Guid[]>(3));
            }
            else
                (_access, _version) = (null, 0);
        }
        catch (NpgsqlException e)
        {
            throw DatabaseFailures.Translate(e); // activation failures bypass the call filter
        }
    }
}
