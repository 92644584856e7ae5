#!/bin/bash
# Stop sge_execd and sge_qmaster by the PIDs in their pid files (never by name), only if /proc
# says the pid still belongs to that daemon.
for item in "$(ls /var/spool/gridengine/execd/*/execd.pid 2>/dev/null | head -1):sge_execd" \
            "/var/spool/gridengine/qmaster/qmaster.pid:sge_qmaster"; do
  pf=${item%%:*}; name=${item##*:}
  [ -n "$pf" ] && [ -s "$pf" ] || continue
  pid=$(cat "$pf")
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "stopped $name ($pid)"
  fi
  rm -f "$pf"
done
exit 0
