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
    private static readonly long LeaseTicks = (long)(IStaffAccessGrain.LeaseDuration.TotalSeconds * Stopwatch.Frequency);
    private const int Capacity = 100_000;

    private readonly record struct Entry(StaffAccess Access, long Until);

    private readonly ConcurrentDictionary<(Guid Tenant, Guid User), Entry> _entries = new();
    // The newest version each user was revoked at: a lease of an older one arriving late is not kept.
    private readonly ConcurrentDictionary<(Guid Tenant, Guid User), long> _revokedAt = new();
    private readonly Lock _sync = new();
    private IStaffAccessHolder? _self;

    /// <summary>The user's current access (null: unknown or deleted), for a token of <paramref name="tokenVersion"/>.</summary>
    public async ValueTask<StaffAccess?> GetAsync(Guid tenantId, Guid userId, long tokenVersion)
    {
        var key = (tenantId, userId);
        if (_entries.TryGetValue(key, out var entry) && Stopwatch.GetTimestamp() < entry.Until && entry.Access.SessionVersion >= tokenVersion)
            return entry.Access;

        var start = Stopwatch.GetTimestamp();
        var grain = grains.Reference<IStaffAccessGrain>(userId, tenantId.ToString());
        var lease = await grain.LeaseAsync(Self);
        if (lease.Version < tokenVersion)
            // A token newer than the grain's memory means the grain missed a reload: read the database.
            return await grain.ReloadAsync();
        if (lease.Access is { } access)
            lock (_sync)
            {
                if (lease.Version >= _revokedAt.GetValueOrDefault(key))
                {
                    if (_entries.Count >= Capacity)
                        _entries.Clear(); // rare; the next requests lease again
                    _entries[key] = new Entry(access, start + LeaseTicks);
                }
            }
        return lease.Access;
    }

    public Task RevokeAsync(Guid tenantId, Guid userId, long version)
    {
        var key = (tenantId, userId);
        lock (_sync)
        {
            _revokedAt.AddOrUpdate(key, version, (_, known) => Math.Max(known, version));
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
