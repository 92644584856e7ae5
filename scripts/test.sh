#!/bin/bash
# Run tansaku's test suite against real services, from nothing: this is the test command the README
# shows and the one CI runs (.ci/run). On a fresh Debian bookworm machine it
#   1. installs the Debian packages of the services (PostgreSQL, Slurm + munge, Grid Engine,
#      Chromium), skipping those already installed;
#   2. configures and starts single-node Slurm and Grid Engine (scripts/services/*), and OpenPBS
#      from the prebuilt tarball in ../shared/cluster/pbs (scripts/services/pbs_setup.sh);
#   3. creates .venv in the repo and installs tansaku editable with the test extras;
#   4. runs pytest with any arguments given to this script (paths relative to the repo root).
# Idempotent: a second run installs nothing, leaves running daemons alone and reuses the venv.
# PostgreSQL is not started here: the tests start a throwaway server of their own (tests/services.py).
#
# Environment:
#   TANSAKU_REQUIRE_SERVICES  default 1: a service test whose service is missing FAILS instead of
#                             skipping (CI must never pass by skipping). Set 0 on a dev box
#                             without the services.
#   TANSAKU_SKIP_SETUP=1      skip steps 1-2 (packages and daemons), e.g. for quick reruns.
#   PYTHON                    interpreter for the venv (default python3).
#   TANSAKU_TEST_WORKERS      pytest-xdist processes (default 2; 0: none, plain pytest).
#   TANSAKU_TORCH             the torch installed before the extras (default torch==2.13.0,
#                             the CPU build on this machine's disk; lightning needs a torch).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVICES=$ROOT/scripts/services
cd "$ROOT"

# --- timing helpers: each phase's wall time is printed as it ends and again in a summary ---------
SUMMARY=()
T_ALL=$(date +%s%N)
T_PHASE=$T_ALL
secs_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
phase_done() {  # phase_done NAME [NOTE]: end the current phase, start the next
  local s; s=$(secs_since "$T_PHASE")
  SUMMARY+=("$(printf '%-9s %7s s  %s' "$1" "$s" "${2:-}")")
  echo "== $1: $s s ${2:-}"
  T_PHASE=$(date +%s%N)
}
print_summary() {
  echo "== scripts/test.sh phase times"
  printf '   %s\n' "${SUMMARY[@]}"
  printf '   %-9s %7s s\n' total "$(secs_since "$T_ALL")"
}

# --- 1-2. system packages and daemons (need root) ----------------------------------------------
SUDO=
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
fi
export TANSAKU_REQUIRE_SERVICES=${TANSAKU_REQUIRE_SERVICES:-1}

if [ "${TANSAKU_SKIP_SETUP:-0}" = 1 ]; then
  echo "== TANSAKU_SKIP_SETUP=1: not installing packages or starting daemons"
elif [ "$SUDO" = none ]; then
  echo "== not root and no password-less sudo: cannot install packages or start daemons;" \
       "service tests will fail (set TANSAKU_REQUIRE_SERVICES=0 to skip them instead)" >&2
else
  # A failed install is fatal: nothing after it would mean anything.
  $SUDO "$SERVICES/install_packages.sh"
  phase_done packages

  # A service that fails to start is not fatal here: the tests that need it then fail (with
  # TANSAKU_REQUIRE_SERVICES=1) with a message naming the service, while the rest still runs.
  st=ok
  { $SUDO "$SERVICES/slurm_setup.sh" && $SUDO "$SERVICES/slurm_start.sh"; } || st="FAILED"
  phase_done slurm "$st"
  st=ok
  $SUDO "$SERVICES/sge_setup.sh" || st="FAILED"
  phase_done sge "$st"
  # OpenPBS from the prebuilt tarball outside the repo (../shared/cluster/pbs, or
  # $TANSAKU_PBS_DIR); pbs_setup.sh says where it looked when it is missing.
  st=ok
  $SUDO "$SERVICES/pbs_setup.sh" || st="FAILED"
  phase_done pbs "$st"
fi

# --- 3. virtual environment ------------------------------------------------------------------
PY=${PYTHON:-python3}
VENV=$ROOT/.venv
EXTRAS='.[test,all,docs]'  # [all]: every user-facing extra; [docs]: the site (pyproject.toml)
# Reinstall only when pyproject.toml, the extras or the interpreter changed: the stamp records them.
STAMP_WANT=$( { cat pyproject.toml; echo "$EXTRAS"; "$PY" -VV; } | sha256sum | cut -c1-16)
if ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi
if [ "$(cat "$VENV/.tansaku-stamp" 2>/dev/null)" != "$STAMP_WANT" ]; then
  # [all] has lightning, which needs torch: without one installed pip would take a CUDA build
  # of several GB.  2.13.0 is the CPU build this machine keeps on disk (a wheel for Python
  # 3.11); installed first, it satisfies lightning and keras's torch backend.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile \
    "${TANSAKU_TORCH:-torch==2.13.0}" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  # --no-compile: byte-compiling every installed module took ~40% of the install time; the
  # modules the tests import are compiled on first import anyway.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile -e "$EXTRAS" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  echo "$STAMP_WANT" > "$VENV/.tansaku-stamp"
  phase_done venv "installed"
else
  phase_done venv "up to date"
fi

# --- 4. tests ----------------------------------------------------------------------------------
rc=0
# Two test processes (pytest-xdist): most tests wait on processes, schedulers and sleeps, so two
# at once use the 2 cores better; a batch scheduler's tests stay on one process, in turn
# (tests/services.py groups them). TANSAKU_TEST_WORKERS=0 runs everything in this process.
XDIST=()
if [ "${TANSAKU_TEST_WORKERS:-2}" != 0 ]; then
  XDIST=(-n "${TANSAKU_TEST_WORKERS:-2}" --dist loadgroup)
fi
"$VENV/bin/python" -m pytest "${XDIST[@]}" "$@" || rc=$?
phase_done pytest "exit $rc"
print_summary
exit $rc
