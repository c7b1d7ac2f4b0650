-- Pages that cost the same whatever the data size (additive only, safe on
-- adopted reference databases).
--
-- 1. Indexes in exactly the order the lists are read (created_at DESC
--    NULLS LAST, id DESC), so a page is an index range, not a sort of every
--    row; they also cover the id, so a deep page finds its ids by an
--    index-only scan before fetching the rows it returns.
-- 2. Exact counts kept by triggers in small counter tables instead of
--    count(*) over every row. Each count is spread over 16 slots picked at
--    random, so concurrent inserts for one owner rarely wait on one row;
--    a count is the sum of at most 16 rows.
CREATE INDEX IF NOT EXISTS ix_userhub_item_owner_page ON item (owner_id, created_at DESC NULLS LAST, id DESC);
CREATE INDEX IF NOT EXISTS ix_userhub_item_page ON item (created_at DESC NULLS LAST, id DESC);
CREATE INDEX IF NOT EXISTS ix_userhub_user_page ON "user" (created_at DESC NULLS LAST, id DESC);
DROP INDEX IF EXISTS ix_userhub_item_owner_created;
DROP INDEX IF EXISTS ix_userhub_item_created;
DROP INDEX IF EXISTS ix_userhub_user_created;

CREATE TABLE userhub_item_count (
    owner_id UUID NOT NULL,
    slot SMALLINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (owner_id, slot)
);
CREATE TABLE userhub_row_count (
    name TEXT NOT NULL,
    slot SMALLINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (name, slot)
);

CREATE FUNCTION userhub_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
    pick SMALLINT := floor(random() * 16)::smallint;
BEGIN
    INSERT INTO userhub_row_count AS c (name, slot, n) VALUES (TG_TABLE_NAME, pick, delta)
        ON CONFLICT (name, slot) DO UPDATE SET n = c.n + delta;
    IF TG_TABLE_NAME = 'item' THEN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO userhub_item_count AS c (owner_id, slot, n) VALUES (NEW.owner_id, pick, 1)
                ON CONFLICT (owner_id, slot) DO UPDATE SET n = c.n + 1;
        ELSIF EXISTS (SELECT 1 FROM "user" WHERE id = OLD.owner_id) THEN
            -- Not when the owner is being deleted (cascade): its counts go with it.
            INSERT INTO userhub_item_count AS c (owner_id, slot, n) VALUES (OLD.owner_id, pick, -1)
                ON CONFLICT (owner_id, slot) DO UPDATE SET n = c.n - 1;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM userhub_item_count WHERE owner_id = OLD.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION userhub_move_item_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pick SMALLINT := floor(random() * 16)::smallint;
BEGIN
    INSERT INTO userhub_item_count AS c (owner_id, slot, n) VALUES (OLD.owner_id, pick, -1)
        ON CONFLICT (owner_id, slot) DO UPDATE SET n = c.n - 1;
    INSERT INTO userhub_item_count AS c (owner_id, slot, n) VALUES (NEW.owner_id, pick, 1)
        ON CONFLICT (owner_id, slot) DO UPDATE SET n = c.n + 1;
    RETURN NULL;
END
$$;

-- Triggers first: creating them locks the tables against writes until this
-- migration commits, so the counts below cannot miss a concurrent write.
CREATE TRIGGER userhub_item_count AFTER INSERT OR DELETE ON item
    FOR EACH ROW EXECUTE FUNCTION userhub_count_rows();
CREATE TRIGGER userhub_item_owner_moved AFTER UPDATE OF owner_id ON item
    FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id) EXECUTE FUNCTION userhub_move_item_count();
CREATE TRIGGER userhub_user_count AFTER INSERT OR DELETE ON "user"
    FOR EACH ROW EXECUTE FUNCTION userhub_count_rows();

INSERT INTO userhub_item_count (owner_id, slot, n) SELECT owner_id, 0, count(*) FROM item GROUP BY owner_id;
INSERT INTO userhub_row_count (name, slot, n) SELECT 'item', 0, count(*) FROM item;
INSERT INTO userhub_row_count (name, slot, n) SELECT 'user', 0, count(*) FROM "user";
