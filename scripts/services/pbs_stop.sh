#!/bin/bash
# Stop every OpenPBS daemon (by the pids in their own lock files, never by name; see stop_pbs.sh).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
for d in "${TANSAKU_PBS_DIR:-}" "$ROOT/../shared/cluster/pbs" "$ROOT/../../shared/cluster/pbs"; do
  [ -n "$d" ] && [ -x "$d/stop_pbs.sh" ] && exec "$d/stop_pbs.sh"
done
echo "pbs_stop: stop_pbs.sh not found (see pbs_setup.sh)" >&2; exit 1
