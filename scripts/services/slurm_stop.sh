#!/bin/bash
# Stop the daemons started by slurm_start.sh, by the PIDs in their pid files (never by name).
# A pid is only signalled if /proc says it is still the daemon the pid file belongs to.
# Usage: slurm_stop.sh [--daemons-only]   (--daemons-only leaves munged running)
LIST="/run/slurm/slurmd.pid:slurmd /run/slurm/slurmctld.pid:slurmctld"
[ "${1:-}" = --daemons-only ] || LIST="$LIST /run/munge/munged.pid:munged"
for item in $LIST; do
  pf=${item%%:*}; name=${item##*:}
  [ -s "$pf" ] || continue
  pid=$(cat "$pf")
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "stopped $name ($pid)"
  fi
  rm -f "$pf"
done
exit 0
