-- The read-only role Grafana's "Caudal PostgreSQL" data source logs in with.
-- Run with psql after every `caudal central migrate` (docker-compose.modular.yml's
-- grafana-reader job does). It is idempotent; when a migration adds a table Grafana should
-- read, add its grant here.
--
--   psql -v ON_ERROR_STOP=1 -v reader=grafana_reader -v reader_password=SECRET -f grafana-reader.sql
--
-- It can read the measurements, the gateways' health and the submissions' states, never users,
-- tokens, audit entries, regulator configurations and credentials, or what was sent.

SELECT format('CREATE ROLE %I LOGIN', :'reader')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'reader') \gexec

ALTER ROLE :"reader" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'reader_password';
ALTER ROLE :"reader" SET default_transaction_read_only = on;

SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'reader') \gexec
GRANT USAGE ON SCHEMA public TO :"reader";

GRANT SELECT ON points, readings, readings_compact, readings_compaction, readings_hourly, latest_readings, meter_changes
    TO :"reader";
GRANT SELECT (id, name, created_at, revoked_at, last_seen_at, clock_offset_s, agent_version, buffer_depth,
              oldest_unsent_s, dropped_total, clock_synced) ON gateways TO :"reader";
GRANT SELECT (id, point_id, regulator, slot, mode, state, reasons, next_attempt_at, comprobante, attempt_count,
              last_attempt_at, accepted_at, created_at, updated_at) ON compliance_submissions TO :"reader";
