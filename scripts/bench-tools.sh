# Shared by scripts/bench and scripts/bench-compare: the load tools, installed if missing.
# shellcheck shell=bash

apt_install() {
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "missing: $*; install it (Debian/Ubuntu: sudo apt-get install -y $*)" >&2
        return 1
    fi
    echo "installing $* with apt-get..." >&2
    if [ -z "${_apt_updated:-}" ]; then apt-get update -qq >&2; _apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# wrk and pgbench (from postgresql-contrib), for PostgreSQL's bin directory $1.
require_load_tools() {
    command -v wrk >/dev/null || apt_install wrk
    [ -x "$1/pgbench" ] || command -v pgbench >/dev/null || apt_install postgresql-contrib
}
