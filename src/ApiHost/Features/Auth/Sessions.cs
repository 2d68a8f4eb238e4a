using System.Security.Cryptography;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Persistence;
using Npgsql;

namespace JowiShop.ApiHost.Features.Auth;

/// <summary>A signed-in session's tokens as the client receives them.</summary>
public sealed record SessionTokens(string AccessToken, int ExpiresIn, string RefreshToken, DateTimeOffset RefreshExpiresAt);

/// <summary>Who a refresh token belongs to, read with the user's current state.</summary>
public sealed record SessionUser(Guid UserId, Guid TenantId, string Name, string Role, long SessionVersion);

public enum RefreshOutcome { Rotated, Unknown, Expired, Reused, SessionEnded }

/// <summary>
/// Refresh tokens: 32 random bytes, given to the client once and stored only as their SHA-256.
/// Each use rotates the token (the old one is marked used, a new one of the same family issued);
/// a used token presented again revokes its whole family, since one of the two holders stole it.
/// A token is also dead once the user's session version moved past the one it was issued under.
/// </summary>
public sealed class Sessions(NpgsqlDataSource db, AccessTokenIssuer tokens, JwtSettings settings, TimeProvider clock)
{
    /// <summary>
    /// Opens a session (a new family) for a user who just proved their password, with its audit
    /// entry (<paramref name="auditAction"/>, null for none) in the same implicit transaction.
    /// </summary>
    public async Task<SessionTokens> OpenAsync(SessionUser user, string? auditAction, CancellationToken ct)
    {
        var (insert, tokens) = Issue(user, Guid.CreateVersion7());
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(insert);
        // Expired tokens are of no use even to theft detection: each login clears the user's.
        batch.BatchCommands.Add(Sql.Command("DELETE FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2 AND expires_at < now()",
            user.TenantId, user.UserId));
        if (auditAction is not null)
            batch.BatchCommands.Add(AuditTrail.Entry(user.TenantId, user.UserId, auditAction, "user", user.UserId));
        await batch.ExecuteNonQueryAsync(ct);
        return tokens;
    }

    /// <summary>Rotates a refresh token: the new tokens, or why not.</summary>
    public async Task<(RefreshOutcome Outcome, SessionTokens? Tokens, SessionUser? User)> RotateAsync(string refreshToken, CancellationToken ct)
    {
        var hash = Hash(refreshToken);
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // FOR UPDATE: of two concurrent uses of one token, the second waits and then sees it used.
        await using var find = new NpgsqlCommand(
            """
            SELECT t.id, t.family_id, t.session_version, t.expires_at, t.used_at IS NOT NULL, t.revoked_at IS NOT NULL,
                   u.id, u.tenant_id, u.name, u.role, u.session_version, u.deleted_at IS NOT NULL
            FROM refresh_tokens t JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.user_id
            WHERE t.token_hash = $1
            FOR UPDATE OF t
            """, connection, tx);
        find.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = hash });
        Guid tokenId, familyId;
        bool used, revoked, deleted;
        long tokenVersion;
        DateTimeOffset expiresAt;
        SessionUser user;
        await using (var reader = await find.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
                return (RefreshOutcome.Unknown, null, null);
            tokenId = reader.GetGuid(0);
            familyId = reader.GetGuid(1);
            tokenVersion = reader.GetInt64(2);
            expiresAt = reader.GetFieldValue<DateTimeOffset>(3);
            used = reader.GetBoolean(4);
            revoked = reader.GetBoolean(5);
            user = new SessionUser(reader.GetGuid(6), reader.GetGuid(7), reader.GetString(8), reader.GetString(9), reader.GetInt64(10));
            deleted = reader.GetBoolean(11);
        }

        if (used && !revoked)
        {
            await using var revoke = new NpgsqlBatch(connection, tx)
            {
                BatchCommands =
                {
                    Sql.Command("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL", familyId),
                    AuditTrail.Entry(user.TenantId, null, "auth.refresh_token_reused", "user", user.UserId, details: new { familyId }),
                },
            };
            await revoke.ExecuteNonQueryAsync(ct);
            await tx.CommitAsync(ct);
            return (RefreshOutcome.Reused, null, user);
        }
        if (used)
            return (RefreshOutcome.Reused, null, user);
        if (revoked || deleted || tokenVersion != user.SessionVersion)
            return (RefreshOutcome.SessionEnded, null, user);
        if (expiresAt <= clock.GetUtcNow())
            return (RefreshOutcome.Expired, null, user);

        var (insert, issued) = Issue(user, familyId);
        await using (var rotate = new NpgsqlBatch(connection, tx)
                     { BatchCommands = { Sql.Command("UPDATE refresh_tokens SET used_at = now() WHERE id = $1", tokenId), insert } })
            await rotate.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return (RefreshOutcome.Rotated, issued, user);
    }

    /// <summary>Revokes every refresh token of the user (their session version was bumped with it).</summary>
    public static NpgsqlBatchCommand RevokeAll(Guid tenantId, Guid userId) => Sql.Command(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL", tenantId, userId);

    /// <summary>Ends every session of the user: bumps the session version and revokes their refresh tokens.</summary>
    public static NpgsqlBatchCommand[] EndAll(Guid tenantId, Guid userId) =>
    [
        Sql.Command("UPDATE users SET session_version = session_version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING session_version",
            tenantId, userId),
        RevokeAll(tenantId, userId),
    ];

    /// <summary>A new refresh token of the family (its insert, to run in the caller's transaction) and the access token with it.</summary>
    private (NpgsqlBatchCommand Insert, SessionTokens Tokens) Issue(SessionUser user, Guid familyId)
    {
        var refresh = Base64Url(RandomNumberGenerator.GetBytes(32));
        var expiresAt = clock.GetUtcNow() + settings.RefreshTokenLifetime;
        var insert = Sql.Command(
            """
            INSERT INTO refresh_tokens (id, tenant_id, user_id, family_id, token_hash, session_version, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """, Guid.CreateVersion7(), user.TenantId, user.UserId, familyId, Hash(refresh), user.SessionVersion, expiresAt);
        var (access, expiresIn) = tokens.Issue(user.UserId, user.TenantId, user.Role, user.Name, user.SessionVersion);
        return (insert, new SessionTokens(access, expiresIn, refresh, expiresAt));
    }

    private static byte[] Hash(string token) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
