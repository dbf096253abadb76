#!/bin/sh
# usage: ./run.sh [minimumConnectionCount=5] [failing|closing]
cd "$(dirname "$0")" && swift build -c debug >/dev/null && exec .build/debug/PoolRepro "$@"
