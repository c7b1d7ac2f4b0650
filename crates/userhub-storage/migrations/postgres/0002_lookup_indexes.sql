-- Additive only (safe on adopted reference databases): older reference
-- databases predate the created_at columns; lookups compare lowercased
-- emails; item listings filter by owner and sort by creation time.
ALTER TABLE "user" ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE item ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE;
CREATE INDEX IF NOT EXISTS ix_userhub_user_email_lower ON "user" (lower(email));
CREATE INDEX IF NOT EXISTS ix_userhub_item_owner_created ON item (owner_id, created_at DESC);
CREATE INDEX IF NOT EXISTS ix_userhub_item_created ON item (created_at DESC);
CREATE INDEX IF NOT EXISTS ix_userhub_user_created ON "user" (created_at DESC);
