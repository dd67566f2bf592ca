# First start on an empty data folder: initdb with the password from POSTGRES_PASSWORD_FILE (a Docker secret),
# the database and the vector extension created; then PostgreSQL in the foreground (as the image's CMD says).
set -eu
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD_FILE:-}" ] || [ ! -s "$POSTGRES_PASSWORD_FILE" ]; then
        echo "postgres-entrypoint: POSTGRES_PASSWORD_FILE must name a non-empty file" >&2
        exit 1
    fi
    initdb --username="$POSTGRES_USER" --pwfile="$POSTGRES_PASSWORD_FILE" --encoding=UTF8 \
        --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA"
    printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    if [ "$POSTGRES_DB" != "postgres" ]; then
        createdb --username="$POSTGRES_USER" --maintenance-db=postgres -- "$POSTGRES_DB"
    fi
    psql --username="$POSTGRES_USER" --dbname="$POSTGRES_DB" -v ON_ERROR_STOP=1 \
        -c "CREATE EXTENSION IF NOT EXISTS vector"
    pg_ctl -D "$PGDATA" -m fast -w stop
fi
if [ "${1:-}" = "postgres" ]; then
    shift
    exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
