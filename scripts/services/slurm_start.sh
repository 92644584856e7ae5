#!/bin/bash
# Start munged, slurmctld and slurmd unless already running (checked by pid file, never by name),
# then wait until the node is idle. Idempotent; safe on a machine handed back with daemons alive.
# Usage: slurm_start.sh   (root; after slurm_setup.sh)
set -euo pipefail
t0=$(date +%s%N)
# alive PIDFILE NAME: the pid file names a live process called NAME (a stale pid file whose pid
# was reused by another program must not count as "running").
alive() { [ -s "$1" ] && [ "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" = "$2" ]; }
mkdir -p /run/munge /run/slurm && chown munge:munge /run/munge && chown slurm:slurm /run/slurm
# munged refuses to run as root; it daemonizes and writes /run/munge/munged.pid.
alive /run/munge/munged.pid munged || setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged
for _ in $(seq 50); do munge -n </dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
alive /run/slurm/slurmctld.pid slurmctld || /usr/sbin/slurmctld   # drops privileges to SlurmUser=slurm
alive /run/slurm/slurmd.pid slurmd       || /usr/sbin/slurmd      # stays root: it runs jobs as their users
st=?
for _ in $(seq 150); do
  st=$(sinfo -h -N -o %T 2>/dev/null | head -1 || true)
  # idle (or busy with someone's jobs) means the node registered and accepts work
  case "$st" in idle|mixed|allocated) break ;; esac
  sleep 0.2
done
echo "slurm node: $st; pids: $(cat /run/munge/munged.pid /run/slurm/slurmctld.pid /run/slurm/slurmd.pid 2>/dev/null | tr '\n' ' ')" \
     "startup: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
case "$st" in idle|mixed|allocated) ;; *)
  echo "slurm_start: node not usable (state '$st'); last log lines:" >&2
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
  exit 1 ;;
esac
