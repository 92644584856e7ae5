#!/bin/bash
# Start the OpenPBS installed by pbs_setup.sh (server, scheduler, comm, mom, datastore), unless
# running, and set the test node's resources. Idempotent (~1 s when up). Usage: pbs_start.sh (root)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${TANSAKU_PBS_DIR:-}
for d in "$DIR" "$ROOT/../shared/cluster/pbs" "$ROOT/../../shared/cluster/pbs"; do
  [ -n "$d" ] && [ -x "$d/start_pbs.sh" ] && { DIR=$d; break; }
done
[ -n "$DIR" ] && [ -x "$DIR/start_pbs.sh" ] ||
  { echo "pbs_start: start_pbs.sh not found (see pbs_setup.sh)" >&2; exit 1; }
[ -x /opt/pbs/bin/qstat ] || { echo "pbs_start: /opt/pbs is missing: run pbs_setup.sh" >&2; exit 1; }
t0=$(date +%s%N)
PBS_NCPUS=${TANSAKU_PBS_SLOTS:-8} PBS_QUEUES=rt_HF "$DIR/start_pbs.sh" >/tmp/tansaku-pbs-start.log 2>&1 || {
  tail -n 30 /tmp/tansaku-pbs-start.log; echo "pbs_start: $DIR/start_pbs.sh failed" >&2; exit 1; }
. /etc/pbs.conf
# No real GPUs: the node advertises some so that ABCI-style `select=1:ngpus=8` jobs are accepted
# and run (OpenPBS has no ngpus resource until one is created; not in sched_config, so the
# scheduler does not count them).
"$PBS_EXEC/bin/qmgr" -c "list resource ngpus" >/dev/null 2>&1 ||
  "$PBS_EXEC/bin/qmgr" -c "create resource ngpus type=long, flag=nh" >/dev/null
"$PBS_EXEC/bin/qmgr" -c "set node $PBS_SERVER resources_available.ngpus = ${TANSAKU_PBS_GPUS:-8}" >/dev/null
echo "pbs: $(tail -n 1 /tmp/tansaku-pbs-start.log | sed 's/^\[[^]]*\] //')  startup: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
