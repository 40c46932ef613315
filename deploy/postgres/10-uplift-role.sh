#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume (docker-entrypoint-initdb.d).
# Creates the role Uplift connects as and the database it owns: the application is not a superuser, it
# owns its own schema and nothing else. The password comes from UPLIFT_DB_PASSWORD (docker-compose.yml).
set -eu
: "${UPLIFT_DB_PASSWORD:?UPLIFT_DB_PASSWORD must be set}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=app_password="$UPLIFT_DB_PASSWORD" <<'SQL'
CREATE ROLE uplift LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE DATABASE uplift OWNER uplift;
REVOKE ALL ON DATABASE uplift FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE uplift TO uplift;
SQL
# PostgreSQL 15+: the public schema belongs to the database owner (pg_database_owner), i.e. uplift.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname uplift <<'SQL'
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
