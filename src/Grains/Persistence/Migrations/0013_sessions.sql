-- Sessions (issue 11): a per-user session version carried in every access token and checked on
-- every request, and rotating refresh tokens stored only as SHA-256 hashes.

-- Bumped in the same transaction as anything that must end the user's sessions: deletion, role
-- change, password or email/phone change, store reassignment, logout, ownership transfer.
ALTER TABLE users ADD COLUMN session_version bigint NOT NULL DEFAULT 1 CHECK (session_version >= 1);

CREATE TABLE refresh_tokens (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    user_id          uuid NOT NULL,
    -- Every token rotated from one login shares the login's family; a used token presented again
    -- revokes the whole family (it was stolen, or copied from a till).
    family_id        uuid NOT NULL,
    token_hash       bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    session_version  bigint NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz,
    revoked_at       timestamptz,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX ix_refresh_tokens_user ON refresh_tokens (tenant_id, user_id) WHERE revoked_at IS NULL;

-- One owner per tenant; ownership moves only by the owner-only transfer, which demotes the owner
-- before it promotes the new one in the same transaction.
CREATE UNIQUE INDEX ux_users_one_owner ON users (tenant_id) WHERE role = 'owner' AND deleted_at IS NULL;
