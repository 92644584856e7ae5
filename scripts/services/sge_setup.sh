#!/bin/bash
# Configure and start a single-node Son of Grid Engine 8.1.9 (Debian bookworm gridengine-*) for
# tests. Adapted from /work/shared/cluster (the tested recipe). Idempotent: every step either
# checks first or rewrites a value to the same thing, so it is run on every test.sh run.
# Usage: sge_setup.sh   (root; packages installed by install_packages.sh, which preseeds debconf so
#                        that the package creates the cell "default" with this host as master)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v sge_qmaster >/dev/null || [ -x /usr/sbin/sge_qmaster ] ||
  { echo "sge_setup: sge_qmaster not found (install gridengine-master)" >&2; exit 1; }
H=$(hostname -s)
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
COMMON=$SGE_ROOT/$SGE_CELL/common
[ -f $COMMON/bootstrap ] || { echo "sge_setup: no cell at $COMMON (debconf preseed missing?)" >&2; exit 1; }
# Job slots: more than the 2 cores on purpose (test jobs mostly wait); 20 tiny jobs take ~4 s
# with 8 slots instead of ~10 s with 2.
SLOTS=${TANSAKU_SGE_SLOTS:-8}

# 1. Host names. `hostname -s` resolves to 127.0.0.1, which reverse-resolves to "localhost", and
#    SGE refuses clients whose two names differ ("access denied ... resolved to host name
#    localhost"). Alias them, and make sure the qmaster name is the short host name.
getent hosts "$H" >/dev/null || { echo "sge_setup: host name $H does not resolve" >&2; exit 1; }
echo "$H localhost" > $COMMON/host_aliases
echo "$H" > $COMMON/act_qmaster

# 2. qmaster must run before qconf can configure anything.
mkdir -p /run/gridengine && chown sgeadmin:sgeadmin /run/gridengine
alive() { [ -s "$1" ] && [ "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" = "$2" ]; }
alive /var/spool/gridengine/qmaster/qmaster.pid sge_qmaster || /usr/sbin/sge_qmaster
for _ in $(seq 100); do qconf -sh >/dev/null 2>&1 && break; sleep 0.1; done

C=$(mktemp -d); trap 'rm -rf "$C"' EXIT
# 3. Global configuration: root may submit (default min_uid/min_gid 1000 rejects uid 0), faster
#    load reports, and accounting flushed every second so qacct sees a job ~5 s after it ends.
#    qconf -Mconf needs the file to be *named* after the configuration ("global").
qconf -sconf global | sed -e 's/^min_uid .*/min_uid 0/' -e 's/^min_gid .*/min_gid 0/' \
  -e 's/^load_report_time .*/load_report_time 00:00:05/' \
  -e 's/flush_time=00:00:15/flush_time=00:00:01/' > "$C/global"
qconf -Mconf "$C/global" >/dev/null
# 4. Scheduler: run every second and right after a submit/finish (default: every 15 s, so a job
#    could wait 15 s to start); no load adjustments, which otherwise hold back the 2nd job.
qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval 0:0:1/' \
  -e 's/^flush_submit_sec .*/flush_submit_sec 1/' -e 's/^flush_finish_sec .*/flush_finish_sec 1/' \
  -e 's/^job_load_adjustments .*/job_load_adjustments NONE/' \
  -e 's/^load_adjustment_decay_time .*/load_adjustment_decay_time 0:0:0/' > "$C/sched"
qconf -Msconf "$C/sched" >/dev/null
# 5. This host as submit and execution host (the package already made it an admin host).
qconf -ss 2>/dev/null | grep -qx "$H" || qconf -as "$H" >/dev/null
printf '%s\n' "hostname $H" "load_scaling NONE" "complex_values NONE" "user_lists NONE" \
  "xuser_lists NONE" "projects NONE" "xprojects NONE" "usage_scaling NONE" \
  "report_variables NONE" > "$C/exechost"
qconf -se "$H" >/dev/null 2>&1 || qconf -Ae "$C/exechost" >/dev/null
# 6. Parallel environment "smp" (jobs may ask for -pe smp N); the queue below refers to it, and
#    qconf rejects a PE file without qsort_args.
printf '%s\n' "pe_name smp" "slots 999" "user_lists NONE" "xuser_lists NONE" \
  "start_proc_args NONE" "stop_proc_args NONE" 'allocation_rule $pe_slots' \
  "control_slaves FALSE" "job_is_first_task TRUE" "urgency_slots min" \
  "accounting_summary FALSE" "qsort_args NONE" > "$C/smp"
qconf -sp smp >/dev/null 2>&1 || qconf -Ap "$C/smp" >/dev/null
# 7. Queue "debug", written out in full (avoids EDITOR tricks). load_thresholds NONE: the default
#    np_load_avg=1.75 puts the queue in alarm state on a busy 2-core CI machine.
if ! qconf -sq debug >/dev/null 2>&1; then
  {
    printf '%-21s %s\n' qname debug hostlist "$H" seq_no 0 load_thresholds NONE \
      suspend_thresholds NONE nsuspend 1 suspend_interval 00:05:00 priority 0 \
      min_cpu_interval 00:05:00 processors UNDEFINED qtype "BATCH INTERACTIVE" ckpt_list NONE \
      pe_list smp rerun FALSE slots "$SLOTS" tmpdir /tmp shell /bin/bash prolog NONE \
      epilog NONE shell_start_mode posix_compliant starter_method NONE suspend_method NONE \
      resume_method NONE terminate_method NONE notify 00:00:60 owner_list NONE \
      user_lists NONE xuser_lists NONE subordinate_list NONE complex_values NONE \
      projects NONE xprojects NONE calendar NONE initial_state default
    for l in s_rt h_rt s_cpu h_cpu s_fsize h_fsize s_data h_data s_stack h_stack s_core h_core \
             s_rss h_rss s_vmem h_vmem; do printf '%-21s %s\n' $l INFINITY; done
  } > "$C/debug"
  qconf -Aq "$C/debug" >/dev/null
fi
# An existing queue (earlier run) keeps its slot count unless told: set it every time.
[ "$(qconf -sq debug | awk '$1=="slots"{print $2}')" = "$SLOTS" ] ||
  qconf -mattr queue slots "$SLOTS" debug >/dev/null

# 8. execd, then wait for the queue instance.
"$HERE/sge_start.sh"
