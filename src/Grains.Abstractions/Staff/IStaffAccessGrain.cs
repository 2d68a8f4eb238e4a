using Orleans.Concurrency;

namespace JowiShop.Grains.Abstractions.Staff;

/// <summary>
/// What a user may do right now: the session version every access token must carry, the role and
/// the stores the user is assigned to. Checked on every authenticated request from memory.
/// </summary>
[GenerateSerializer, Immutable, Alias("jowishop.StaffAccess")]
public sealed record StaffAccess(
    [property: Id(0)] long SessionVersion,
    [property: Id(1)] string Role,
    [property: Id(2)] IReadOnlyList<Guid> StoreIds)
{
    /// <summary>Admins and the owner work at every store; managers and cashiers at their assigned ones.</summary>
    public bool WorksAt(Guid storeId) => Role is Roles.Owner or Roles.Admin || StoreIds.Contains(storeId);
}

/// <summary>
/// One grain per user (key: user id + tenant id as key extension), loaded from PostgreSQL. Every
/// write that changes a user's role, credentials, stores or sessions commits its row (bumping
/// users.session_version) and then calls <see cref="ReloadAsync"/>, so the very next request, on
/// any silo, meets the change: the grain is the single place all silos ask.
/// </summary>
public interface IStaffAccessGrain : IGrainWithGuidCompoundKey
{
    /// <summary>How long a process may answer from a lease without asking again.</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The user's access, which <paramref name="holder"/> may keep in its process memory for
    /// <see cref="LeaseDuration"/> (timed from before it asked). Before a change is answered, the
    /// grain tells every holder to drop it, or waits for their leases to run out.
    /// </summary>
    [ReadOnly, AlwaysInterleave]
    Task<StaffLease> LeaseAsync(IStaffAccessHolder holder);

    /// <summary>The user's current access, or null when the user does not exist or was deleted.</summary>
    [ReadOnly, AlwaysInterleave]
    Task<StaffAccess?> GetAsync();

    /// <summary>Reads the user again after a committed change (or when a token is newer than what the grain holds).</summary>
    Task<StaffAccess?> ReloadAsync();
}

/// <summary>A lease of a user's access: <see cref="Access"/> null when the user does not exist or was deleted.</summary>
[GenerateSerializer, Immutable, Alias("jowishop.StaffLease")]
public sealed record StaffLease([property: Id(0)] StaffAccess? Access, [property: Id(1)] long Version);

/// <summary>A process (API front or co-hosted silo) that keeps leased accesses in memory.</summary>
public interface IStaffAccessHolder : IGrainObserver
{
    /// <summary>Drop the user's lease; any lease of a version below <paramref name="version"/> that arrives later is not kept.</summary>
    Task RevokeAsync(Guid tenantId, Guid userId, long version);
}
