#!/bin/bash
# Install (from the prebuilt tarball) and start a single-host OpenPBS 23.06 for tests, then give
# the node the resources the tests ask for. Idempotent: an installed PBS is not unpacked again and
# running daemons are left alone (~1 s when everything is up; ~15-25 s from nothing).
# Usage: pbs_setup.sh   (root)
#
# The tarball and its scripts (setup_pbs.sh, start_pbs.sh, stop_pbs.sh, README.md with the
# pitfalls) live OUTSIDE the repo, in the shared cluster directory next to it:
#   $TANSAKU_PBS_DIR, else ../shared/cluster/pbs or ../../shared/cluster/pbs from the repo root.
# Environment: TANSAKU_PBS_SLOTS (default 8) single-cpu jobs at once; TANSAKU_PBS_GPUS (default 8)
# ngpus the node advertises (there are no GPUs: it lets `-l select=1:ngpus=8` jobs run, as on an
# ABCI 3.0 rt_HF node); the queue rt_HF is created besides workq.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
find_pbs_dir() {
  local d
  for d in "${TANSAKU_PBS_DIR:-}" "$ROOT/../shared/cluster/pbs" "$ROOT/../../shared/cluster/pbs"; do
    [ -n "$d" ] && [ -x "$d/setup_pbs.sh" ] && ls "$d"/openpbs-*.tar.gz >/dev/null 2>&1 &&
      { cd "$d" && pwd; return 0; }
  done
  return 1
}
DIR=$(find_pbs_dir) || {
  echo "pbs_setup: the OpenPBS tarball and scripts were not found: looked in" \
       "\$TANSAKU_PBS_DIR (${TANSAKU_PBS_DIR:-unset}), $ROOT/../shared/cluster/pbs and" \
       "$ROOT/../../shared/cluster/pbs for setup_pbs.sh + openpbs-*.tar.gz" >&2
  exit 1; }
"$DIR/setup_pbs.sh" >/tmp/tansaku-pbs-setup.log 2>&1 || {
  tail -n 30 /tmp/tansaku-pbs-setup.log; echo "pbs_setup: $DIR/setup_pbs.sh failed" >&2; exit 1; }
"$(dirname "${BASH_SOURCE[0]}")/pbs_start.sh"
