-- The reference schema in SQLite's closest types: UUIDs as 16-byte blobs,
-- timestamps as RFC 3339 text.
CREATE TABLE "user" (
    email VARCHAR(255) NOT NULL,
    is_active BOOLEAN NOT NULL,
    is_superuser BOOLEAN NOT NULL,
    full_name VARCHAR(255),
    id BLOB NOT NULL PRIMARY KEY,
    hashed_password VARCHAR NOT NULL,
    created_at TEXT
);
CREATE UNIQUE INDEX ix_user_email ON "user" (email);

CREATE TABLE item (
    description VARCHAR(255),
    title VARCHAR(255) NOT NULL,
    id BLOB NOT NULL PRIMARY KEY,
    owner_id BLOB NOT NULL,
    created_at TEXT,
    CONSTRAINT item_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES "user" (id) ON DELETE CASCADE
);
