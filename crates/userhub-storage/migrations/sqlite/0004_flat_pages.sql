-- Pages that cost the same whatever the data size (see the PostgreSQL
-- migration of the same number for the reasoning). SQLite has one writer at
-- a time, so each count is one row (slot 0).
CREATE INDEX IF NOT EXISTS ix_userhub_item_owner_page ON item (owner_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS ix_userhub_item_page ON item (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS ix_userhub_user_page ON "user" (created_at DESC, id DESC);
DROP INDEX IF EXISTS ix_userhub_item_owner_created;
DROP INDEX IF EXISTS ix_userhub_item_created;
DROP INDEX IF EXISTS ix_userhub_user_created;

CREATE TABLE userhub_item_count (
    owner_id BLOB NOT NULL,
    slot INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (owner_id, slot)
) WITHOUT ROWID;
CREATE TABLE userhub_row_count (
    name TEXT NOT NULL,
    slot INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (name, slot)
) WITHOUT ROWID;

CREATE TRIGGER userhub_item_inserted AFTER INSERT ON item BEGIN
    INSERT INTO userhub_row_count (name, slot, n) VALUES ('item', 0, 1)
        ON CONFLICT (name, slot) DO UPDATE SET n = n + 1;
    INSERT INTO userhub_item_count (owner_id, slot, n) VALUES (NEW.owner_id, 0, 1)
        ON CONFLICT (owner_id, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER userhub_item_deleted AFTER DELETE ON item BEGIN
    INSERT INTO userhub_row_count (name, slot, n) VALUES ('item', 0, -1)
        ON CONFLICT (name, slot) DO UPDATE SET n = n - 1;
    -- Not when the owner is being deleted (cascade): its counts go with it.
    INSERT INTO userhub_item_count (owner_id, slot, n)
        SELECT OLD.owner_id, 0, -1 WHERE EXISTS (SELECT 1 FROM "user" WHERE id = OLD.owner_id)
        ON CONFLICT (owner_id, slot) DO UPDATE SET n = n - 1;
END;
CREATE TRIGGER userhub_item_owner_moved AFTER UPDATE OF owner_id ON item
    WHEN OLD.owner_id IS NOT NEW.owner_id BEGIN
    INSERT INTO userhub_item_count (owner_id, slot, n) VALUES (OLD.owner_id, 0, -1)
        ON CONFLICT (owner_id, slot) DO UPDATE SET n = n - 1;
    INSERT INTO userhub_item_count (owner_id, slot, n) VALUES (NEW.owner_id, 0, 1)
        ON CONFLICT (owner_id, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER userhub_user_inserted AFTER INSERT ON "user" BEGIN
    INSERT INTO userhub_row_count (name, slot, n) VALUES ('user', 0, 1)
        ON CONFLICT (name, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER userhub_user_deleted AFTER DELETE ON "user" BEGIN
    INSERT INTO userhub_row_count (name, slot, n) VALUES ('user', 0, -1)
        ON CONFLICT (name, slot) DO UPDATE SET n = n - 1;
    DELETE FROM userhub_item_count WHERE owner_id = OLD.id;
END;

INSERT INTO userhub_item_count (owner_id, slot, n) SELECT owner_id, 0, count(*) FROM item GROUP BY owner_id;
INSERT INTO userhub_row_count (name, slot, n) SELECT 'item', 0, count(*) FROM item;
INSERT INTO userhub_row_count (name, slot, n) SELECT 'user', 0, count(*) FROM "user";
