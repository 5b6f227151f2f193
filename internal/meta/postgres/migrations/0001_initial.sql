-- Coffer metadata, schema version 1. Applied by Open inside one transaction,
-- with search_path set to the store's schema.
--
-- Conventions. Object keys, upload ids, blob ids and record ids are bytea:
-- they may hold NUL, which text cannot, and bytea compares as unsigned
-- bytes, which is S3's listing order. The other names (bucket names, event
-- targets, config names, record kinds) are text COLLATE "C", so they too
-- sort by bytes.
-- Times are in the records, encoded exactly (nanoseconds, any year); a
-- column holds a time only where a query filters on it. Fields no query
-- touches are in one encoded record per row (record.go), so adding one needs
-- no migration.

CREATE TABLE buckets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text COLLATE "C" NOT NULL UNIQUE,
    versioning  text NOT NULL DEFAULT '',
    object_lock boolean NOT NULL DEFAULT false,
    record      bytea NOT NULL
);

-- Every version of every object, delete markers included. A key's versions
-- are ordered by ord (greater is newer); the newest has is_latest set, and
-- it is the key's current version unless it is a delete marker.
CREATE TABLE versions (
    bucket_id     bigint NOT NULL,
    key           bytea NOT NULL,
    ord           bigint NOT NULL,
    version_id    text COLLATE "C" NOT NULL,
    is_latest     boolean NOT NULL,
    delete_marker boolean NOT NULL,
    size          bigint NOT NULL,
    record        bytea NOT NULL,
    inline        bytea,
    blob_ids      bytea[]
);
-- Versions of a key newest first: GetObject of a version, the latest
-- version, and ListObjectVersions.
CREATE UNIQUE INDEX versions_key ON versions (bucket_id, key, ord DESC);
ALTER TABLE versions REPLICA IDENTITY USING INDEX versions_key;
-- Current versions only: ListObjects walks this index, so its cost never
-- depends on noncurrent versions or delete markers.
CREATE UNIQUE INDEX versions_current ON versions (bucket_id, key)
    WHERE is_latest AND NOT delete_marker;
-- The null version of a key, which unversioned writes replace.
CREATE UNIQUE INDEX versions_null ON versions (bucket_id, key)
    WHERE version_id = 'null';
-- BlobInUse and the release checks.
CREATE INDEX versions_blobs ON versions USING gin (blob_ids)
    WHERE blob_ids IS NOT NULL;
-- Inline objects reach 128 KiB: compressing them with pglz on every PUT
-- and decompressing them on every GET would cost more CPU than the space
-- is worth (many are compressed already). Out of line, uncompressed.
ALTER TABLE versions ALTER COLUMN inline SET STORAGE EXTERNAL;

CREATE TABLE uploads (
    row_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_id    bigint NOT NULL,
    key          bytea NOT NULL,
    upload_id    bytea NOT NULL,
    -- Initiated in nanoseconds, saturated to the bigint range: only the
    -- expiry query uses it; the record holds the exact time.
    initiated_ns bigint NOT NULL,
    record       bytea NOT NULL,
    UNIQUE (bucket_id, key, upload_id)
);
CREATE INDEX uploads_initiated ON uploads (initiated_ns, row_id);

CREATE TABLE parts (
    upload_row bigint NOT NULL,
    number     integer NOT NULL,
    blob_id    bytea NOT NULL,
    size       bigint NOT NULL,
    record     bytea NOT NULL,
    PRIMARY KEY (upload_row, number)
);
CREATE INDEX parts_blob ON parts (blob_id);

CREATE TABLE bucket_configs (
    bucket_id bigint NOT NULL,
    name      text COLLATE "C" NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (bucket_id, name)
);

-- The notification outbox: one ordered queue per target.
CREATE SEQUENCE events_seq;
CREATE TABLE events (
    target text COLLATE "C" NOT NULL,
    seq    bigint NOT NULL DEFAULT nextval('events_seq'),
    record bytea NOT NULL,
    PRIMARY KEY (target, seq)
);

-- Control-plane records (users, keys, sessions, ...), by kind and id.
-- expires_ns is the expiry in nanoseconds, saturated to the bigint range
-- (NULL for none), for liveness checks and the purge; record holds it
-- exactly. Revisions come from one sequence, so a record deleted and
-- created again never takes a revision a reader saw before.
CREATE SEQUENCE records_rev;
CREATE TABLE records (
    kind       text COLLATE "C" NOT NULL,
    id         bytea NOT NULL,
    rev        bigint NOT NULL,
    expires_ns bigint,
    data       bytea NOT NULL,
    record     bytea NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX records_expiry ON records (expires_ns) WHERE expires_ns IS NOT NULL;

-- The common prefix key rolls up into under delimiter delim, for a listing
-- whose prefix is plen bytes long; NULL when it rolls up into none.
CREATE FUNCTION common_prefix(k bytea, plen integer, delim bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
    WHEN length(delim) = 0 OR position(delim IN substring(k FROM plen + 1)) = 0 THEN NULL
    ELSE substring(k FROM 1 FOR plen + position(delim IN substring(k FROM plen + 1)) - 1 + length(delim))
END;

-- The least byte string greater than every string starting with p; NULL
-- when there is none (p empty or all 0xff).
CREATE FUNCTION prefix_successor(p bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
    WHEN length(rtrim(p, '\xff'::bytea)) = 0 THEN NULL
    ELSE substring(rtrim(p, '\xff'::bytea) FROM 1 FOR length(rtrim(p, '\xff'::bytea)) - 1)
        || set_byte('\x00'::bytea, 0, get_byte(rtrim(p, '\xff'::bytea), length(rtrim(p, '\xff'::bytea)) - 1) + 1)
END;
