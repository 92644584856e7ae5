#!/bin/bash
# Start an already configured single-node Grid Engine: sge_qmaster, then sge_execd, unless running
# (checked by pid file, never by name); wait until the queue instance debug@HOST is usable.
# Usage: sge_start.sh   (root; the first time, run sge_setup.sh, which calls this script)
set -euo pipefail
H=$(hostname -s); t0=$(date +%s%N)
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
mkdir -p /run/gridengine && chown sgeadmin:sgeadmin /run/gridengine
# alive PIDFILE NAME: the pid file names a live process called NAME.
alive() { [ -s "$1" ] && [ "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" = "$2" ]; }
QPID=/var/spool/gridengine/qmaster/qmaster.pid
alive $QPID sge_qmaster || /usr/sbin/sge_qmaster          # daemonizes
for _ in $(seq 100); do qconf -sh >/dev/null 2>&1 && break; sleep 0.1; done
# execd names its spool dir after the name it resolves for itself ("localhost" here, see
# sge_setup.sh), so find its pid file with a glob.
EPID=$(ls /var/spool/gridengine/execd/*/execd.pid 2>/dev/null | head -1 || true)
if [ -z "$EPID" ] || ! alive "$EPID" sge_execd; then /usr/sbin/sge_execd; fi
ok=0
for _ in $(seq 150); do
  # A usable queue instance line ends with the arch and has no state letters (u=unknown,
  # a=alarm, d=disabled, E=error) after it.
  if qstat -f -q debug 2>/dev/null | grep -q "^debug@$H .* lx-amd64 *$"; then ok=1; break; fi
  sleep 0.2
done
echo "sge: $(qstat -f -q debug 2>/dev/null | grep "^debug@" || echo 'no queue instance')" \
     " startup: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
[ $ok = 1 ] || { echo "sge_start: queue debug@$H not usable" >&2; exit 1; }
