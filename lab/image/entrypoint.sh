#!/bin/sh
# Role dispatch for the lab image: postgres | redis | edge | backend | worker | manage ARGS...
# and lab-b's (the second reference platform): api-b | edge-b | manage-b ARGS...
set -eu
role="${1:-backend}"
[ $# -gt 0 ] && shift
case "$role" in
  postgres)
    PGDATA="${PGDATA:-/var/lib/postgresql/data}"; export PGDATA
    bin=/usr/lib/postgresql/15/bin
    mkdir -p "$PGDATA" /run/postgresql
    chown -R postgres:postgres "$PGDATA" /run/postgresql
    chmod 700 "$PGDATA"
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
      pwfile="$(mktemp)"
      printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > "$pwfile"
      chown postgres "$pwfile"
      su postgres -s /bin/sh -c "$bin/initdb -D '$PGDATA' -U '${POSTGRES_USER:-exam_user}' --pwfile='$pwfile' --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null"
      rm -f "$pwfile"
      echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
      cat /opt/lab/conf/postgresql.conf >> "$PGDATA/postgresql.conf"
      echo "CREATE DATABASE \"${POSTGRES_DB:-exam_platform}\";" | su postgres -s /bin/sh -c "$bin/postgres --single -D '$PGDATA' postgres >/dev/null"
    fi
    # The env file is authoritative: re-apply the password on every start, so a volume made by an
    # earlier deployment (other secrets) still accepts this one. Single-user mode, nothing logged.
    pw_sql="$(printf '%s' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" | sed "s/'/''/g")"
    printf 'ALTER ROLE "%s" PASSWORD '"'"'%s'"'"';\n' "${POSTGRES_USER:-exam_user}" "$pw_sql" \
      | su postgres -s /bin/sh -c "$bin/postgres --single -D '$PGDATA' postgres >/dev/null"
    exec su postgres -s /bin/sh -c "exec $bin/postgres -D '$PGDATA'"
    ;;
  redis)
    exec redis-server /opt/lab/conf/redis.conf
    ;;
  edge)
    exec nginx -c /opt/lab/conf/nginx.conf -g 'daemon off;'
    ;;
  backend)
    exec python3 -m examlab.server "$@"
    ;;
  worker)
    exec python3 -m examlab.worker "$@"
    ;;
  manage)
    exec python3 -m examlab.manage "$@"
    ;;
  api-b)
    exec python3 -m examlab_b.server "$@"
    ;;
  edge-b)
    exec nginx -c /opt/lab/conf/nginx_b.conf -g 'daemon off;'
    ;;
  manage-b)
    exec python3 -m examlab_b.manage "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
