# Shared by scripts/run and scripts/test: PostgreSQL's programs, installed if missing.
# shellcheck shell=bash

pg_bindir() {
    local dir
    if [ -n "${SQLSTORE_PG_BIN:-}" ] && [ -x "$SQLSTORE_PG_BIN/initdb" ]; then echo "$SQLSTORE_PG_BIN"; return 0; fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

# Installs Debian's postgresql package when the server programs are missing.
require_postgres() {
    if pg_bindir >/dev/null; then return 0; fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "PostgreSQL's server programs are missing. Install them (Debian/Ubuntu: sudo apt-get install -y postgresql)," >&2
        echo "or set SQLSTORE_PG_BIN to the folder that holds initdb and pg_ctl." >&2
        return 1
    fi
    echo "installing PostgreSQL with apt-get..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    pg_bindir >/dev/null
}

# Runs a command as the unprivileged postgres user when we are root (PostgreSQL refuses root).
as_pg_user() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Installs Debian packages whose programs are missing (as root with apt-get): for example
# `require_programs /usr/sbin/pgbouncer:pgbouncer`. Each argument is PROGRAM:PACKAGE.
require_programs() {
    local missing=() pair
    for pair in "$@"; do
        [ -x "${pair%%:*}" ] || missing+=("${pair##*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "missing: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]})." >&2
        return 1
    fi
    echo "installing ${missing[*]} with apt-get..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
