-- The regulator column names any registered regulator: compliance's registry validates the
-- name at the application edge (compliance/registry.py), so a new regulator is a new package
-- and a registry entry, without a migration to widen a CHECK. PostgreSQL names the inline
-- CHECKs of 0300 <table>_regulator_check.
ALTER TABLE compliance_configs DROP CONSTRAINT compliance_configs_regulator_check;
ALTER TABLE compliance_submissions DROP CONSTRAINT compliance_submissions_regulator_check;
