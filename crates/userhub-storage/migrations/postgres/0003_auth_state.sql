-- Additive only (safe on adopted reference databases).
-- email_canonical: the one canonical form of the email, computed by Userhub
-- in Rust (NFKC + Unicode lowercase), backfilled by `userhub migrate` for
-- rows written before it existed; it drives lookup and uniqueness.
-- password_changed_at_micros / email_changed_at_micros: when the password or
-- the email last changed (Unix microseconds), against which access and
-- reset tokens are checked; token_exempt: the fingerprint of the one access
-- token that survives the password change it made.
ALTER TABLE "user" ADD COLUMN IF NOT EXISTS email_canonical TEXT;
ALTER TABLE "user" ADD COLUMN IF NOT EXISTS password_changed_at_micros BIGINT;
ALTER TABLE "user" ADD COLUMN IF NOT EXISTS email_changed_at_micros BIGINT;
ALTER TABLE "user" ADD COLUMN IF NOT EXISTS token_exempt TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS ix_userhub_user_email_canonical ON "user" (email_canonical);

-- Failed-login accounting per account, shared by every replica.
CREATE TABLE IF NOT EXISTS userhub_login_attempt (
    user_id UUID NOT NULL PRIMARY KEY REFERENCES "user" (id) ON DELETE CASCADE,
    failures INTEGER NOT NULL,
    window_start_micros BIGINT NOT NULL
);

-- Access tokens revoked one by one (logout), kept until they expire.
CREATE TABLE IF NOT EXISTS userhub_revoked_token (
    fingerprint TEXT NOT NULL PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    expires_at_micros BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_userhub_revoked_token_expiry ON userhub_revoked_token (expires_at_micros);
