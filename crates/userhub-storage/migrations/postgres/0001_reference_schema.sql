-- The reference template's schema, column for column, so that a database
-- created by the reference and one created by Userhub are interchangeable.
CREATE TABLE "user" (
    email VARCHAR(255) NOT NULL,
    is_active BOOLEAN NOT NULL,
    is_superuser BOOLEAN NOT NULL,
    full_name VARCHAR(255),
    id UUID NOT NULL,
    hashed_password VARCHAR NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_user_email ON "user" (email);

CREATE TABLE item (
    description VARCHAR(255),
    title VARCHAR(255) NOT NULL,
    id UUID NOT NULL,
    owner_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    CONSTRAINT item_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES "user" (id) ON DELETE CASCADE
);
