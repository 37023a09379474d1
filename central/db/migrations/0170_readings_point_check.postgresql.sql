-- A reading's point must exist, checked once per statement instead of once per row (issue 16).
-- The foreign key of readings to points checked every inserted row on its own (a lookup and a
-- lock of the point per row, ~40 rows per batch of a gateway): without it a fleet's batch costs
-- PostgreSQL 0.79-0.93 of the CPU it did at saturation (benchmarks/RESULTS.md, "Figures cited by the code").
-- Two triggers keep the same rule:
-- - after each statement that inserts readings (INSERT or COPY), the points of its rows are
--   looked up and locked FOR KEY SHARE, as the foreign key did, but once per point;
-- - after a point is deleted, its readings are looked for; a point with readings stays.
-- Both raise foreign_key_violation, the foreign key's own error. The lock makes them safe
-- against each other: a deletion waits for the storing of the point's readings to commit and
-- then finds them; readings stored while a deletion runs wait for it and fail if it commits.
-- readings are never updated, so only inserts are checked. A month detached from readings
-- (retention) gets a foreign key of its own (central/telemetry/retention.py): a point it names
-- stays until it is dropped.
DO $$
DECLARE
    fk RECORD;
BEGIN
    FOR fk IN
        SELECT CAST(conrelid AS regclass) AS tbl, conname
          FROM pg_constraint
         WHERE contype = 'f' AND confrelid = CAST('points' AS regclass) AND conparentid = 0
           AND conrelid IN (SELECT relid FROM pg_partition_tree('readings'))
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname);
    END LOOP;
END $$;

CREATE FUNCTION readings_points_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing BIGINT;
BEGIN
    SELECT n.point_id INTO missing
      FROM (SELECT DISTINCT point_id FROM new_readings) AS n
     WHERE NOT EXISTS (SELECT FROM points AS p WHERE p.id = n.point_id FOR KEY SHARE)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'readings of point % violate the key of table "points": no such point', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER readings_points_exist AFTER INSERT ON readings REFERENCING NEW TABLE AS new_readings
    FOR EACH STATEMENT EXECUTE FUNCTION readings_points_exist();

CREATE FUNCTION points_without_readings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM readings WHERE point_id = OLD.id) THEN
        RAISE EXCEPTION 'point % is still named by readings', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER points_without_readings AFTER DELETE ON points
    FOR EACH ROW EXECUTE FUNCTION points_without_readings();
