using System.Collections.Concurrent;
using System.Diagnostics;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Staff;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// This process's leased copies of users' access (see <see cref="IStaffAccessGrain.LeaseAsync"/>):
/// the per-request session check answers from here and asks the user's grain once per lease
/// instead of on every request. Exact, not a time-based cache: a committed change is answered only
/// after this process dropped the entry (it is told) or the lease ran out (it was not reachable).
/// A lease is timed from before it was asked for, so it ends here no later than the grain thinks.
/// </summary>
public sealed class StaffAccessLeases(IGrainFactory grains) : IStaffAccessHolder
{
    // 50 ms short of the grant: slack for the two machines' clocks running at slightly different rates.
    private static readonly long LeaseTicks = (long)((IStaffAccessGrain.LeaseDuration.TotalSeconds - 0.05) * Stopwatch.Frequency);
    // A lease answer older than this cannot still be in flight (grain calls time out after 5 s).
    private static readonly long RevocationMemoryTicks = 30 * Stopwatch.Frequency;
    private const int Capacity = 100_000;

    /// <summary>A leased access; <see cref="Access"/> null for a deleted or unknown user (deletion is final).</summary>
    private readonly record struct Entry(StaffAccess? Access, long Version, long Until);

    private readonly ConcurrentDictionary<(Guid Tenant, Guid User), Entry> _entries = new();
    // The newest version each user was revoked at: a lease of an older one arriving late is not kept.
    private readonly ConcurrentDictionary<(Guid Tenant, Guid User), (long Version, long At)> _revokedAt = new();
    private readonly Lock _sync = new();
    private IStaffAccessHolder? _self;

    /// <summary>The user's current access (null: unknown or deleted), for a token of <paramref name="tokenVersion"/>.</summary>
    public async ValueTask<StaffAccess?> GetAsync(Guid tenantId, Guid userId, long tokenVersion)
    {
        var key = (tenantId, userId);
        if (_entries.TryGetValue(key, out var entry) && Stopwatch.GetTimestamp() < entry.Until && entry.Version >= tokenVersion)
            return entry.Access;

        var start = Stopwatch.GetTimestamp();
        var grain = grains.Reference<IStaffAccessGrain>(userId, tenantId.ToString());
        var lease = await grain.LeaseAsync(Self);
        if (lease.Version < tokenVersion)
            // A token newer than the grain's memory means the grain missed a reload: read the database.
            return await grain.ReloadAsync();
        lock (_sync)
        {
            if (!_revokedAt.TryGetValue(key, out var revoked) || lease.Version >= revoked.Version)
            {
                if (_entries.Count >= Capacity)
                    _entries.Clear(); // rare; the next requests lease again
                _entries[key] = new Entry(lease.Access, lease.Version, start + LeaseTicks);
            }
        }
        return lease.Access;
    }

    public Task RevokeAsync(Guid tenantId, Guid userId, long version)
    {
        var key = (tenantId, userId);
        var now = Stopwatch.GetTimestamp();
        lock (_sync)
        {
            if (_revokedAt.Count >= Capacity)
                foreach (var old in _revokedAt.Where(r => now - r.Value.At > RevocationMemoryTicks).Select(r => r.Key).ToArray())
                    _revokedAt.TryRemove(old, out _);
            _revokedAt.AddOrUpdate(key, (version, now), (_, known) => (Math.Max(known.Version, version), now));
            _entries.TryRemove(key, out _);
        }
        return Task.CompletedTask;
    }

    private IStaffAccessHolder Self
    {
        get
        {
            // Created on first use: the cluster client (or co-hosted silo) is running by then.
            if (_self is null)
                lock (_sync)
                    _self ??= grains.CreateObjectReference<IStaffAccessHolder>(this);
            return _self;
        }
    }
}

public static class StaffAccessReload
{
    private const int Attempts = 3;

    /// <summary>
    /// Tells the user's grain, after a committed change, to read the user again and revoke every
    /// lease; re-sent when the call did not get through (the grain moving between silos), since the
    /// client's retry of the write would find it done and never reload. Reloading twice is harmless.
    /// </summary>
    public static async Task ReloadAfterCommitAsync(this IGrainFactory grains, Guid tenantId, Guid userId)
    {
        var grain = grains.Reference<IStaffAccessGrain>(userId, tenantId.ToString());
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await grain.ReloadAsync();
                return;
            }
            catch (Exception e) when (attempt < Attempts && e is Orleans.Runtime.SiloUnavailableException or Orleans.Runtime.OrleansMessageRejectionException or TimeoutException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt));
            }
        }
    }
}
