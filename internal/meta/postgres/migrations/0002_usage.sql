-- Coffer metadata, schema version 2: maintained usage counters per bucket
-- (meta.UsageCounter, usage.go).
--
-- A bucket's totals are the sum of its rows here, one per shard. Every
-- write that changes them adds its delta to one shard's row in its own
-- transaction, the shard chosen by the connection's backend (usage.go), so
-- concurrent writers, which run on different connections, rarely wait for
-- each other's row lock; a read sums at most 16 rows per bucket. Rows are
-- updated in place on every write: a low fillfactor keeps those updates HOT.
CREATE TABLE bucket_usage (
    bucket_id     bigint NOT NULL,
    shard         smallint NOT NULL,
    objects       bigint NOT NULL DEFAULT 0,
    bytes         bigint NOT NULL DEFAULT 0,
    versions      bigint NOT NULL DEFAULT 0,
    version_bytes bigint NOT NULL DEFAULT 0,
    uploads       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket_id, shard)
) WITH (fillfactor = 50);

-- Backfill from the rows as they are. The locks make the count exact as of
-- this migration's commit: writers of a release that does not know the
-- counters (still running during an upgrade) wait until it commits. Their
-- later writes are not counted, so stop them before upgrading.
LOCK TABLE versions, uploads IN SHARE MODE;

INSERT INTO bucket_usage (bucket_id, shard, objects, bytes, versions, version_bytes, uploads)
SELECT b.id, 0,
    coalesce(v.objects, 0), coalesce(v.bytes, 0),
    coalesce(v.versions, 0), coalesce(v.version_bytes, 0),
    coalesce(u.uploads, 0)
FROM buckets b
LEFT JOIN (
    SELECT bucket_id,
        count(*) FILTER (WHERE is_latest AND NOT delete_marker) AS objects,
        sum(size) FILTER (WHERE is_latest AND NOT delete_marker) AS bytes,
        count(*) AS versions,
        sum(size) AS version_bytes
    FROM versions GROUP BY bucket_id
) v ON v.bucket_id = b.id
LEFT JOIN (
    SELECT bucket_id, count(*) AS uploads FROM uploads GROUP BY bucket_id
) u ON u.bucket_id = b.id;
