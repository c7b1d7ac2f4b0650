CREATE INDEX IF NOT EXISTS ix_userhub_user_email_lower ON "user" (lower(email));
CREATE INDEX IF NOT EXISTS ix_userhub_item_owner_created ON item (owner_id, created_at DESC);
CREATE INDEX IF NOT EXISTS ix_userhub_item_created ON item (created_at DESC);
CREATE INDEX IF NOT EXISTS ix_userhub_user_created ON "user" (created_at DESC);
