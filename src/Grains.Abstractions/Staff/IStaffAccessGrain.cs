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
    /// <summary>The user's current access, or null when the user does not exist or was deleted.</summary>
    [ReadOnly, AlwaysInterleave]
    Task<StaffAccess?> GetAsync();

    /// <summary>Reads the user again after a committed change (or when a token is newer than what the grain holds).</summary>
    Task<StaffAccess?> ReloadAsync();
}
