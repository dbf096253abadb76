#!/bin/sh
# usage: ./run.sh MAX_CONNECTIONS [GAP_MS_BETWEEN_SINGLE_REQUESTS=200] [KEEP_ALIVE_MS]
# A fake server with 7 slots refuses an eighth connection (53300). Phase 1: 32 workers for 6 s.
# Phase 2: single requests, each with a 10 s deadline. With 25, every phase-2 request times out
# while the pool holds idle connections; with 7 (the server's slots) none is refused.
cd "$(dirname "$0")" && swift build -c debug >/dev/null && exec .build/debug/PoolStall "$@"
