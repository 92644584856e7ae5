#!/bin/bash
# Install the Debian packages the test suite's real services need, skipping any already installed.
# Idempotent: on a machine where everything is present it does nothing (not even `apt-get update`).
# Usage: install_packages.sh            (needs root; test.sh calls it)
set -euo pipefail

PKGS=(
  postgresql                     # server binaries (initdb, pg_ctl); tests start their own throwaway server
  munge slurm-wlm                # single-node Slurm (slurmctld + slurmd + client commands)
  gridengine-master gridengine-exec gridengine-client   # single-node Son of Grid Engine 8.1.9
  chromium chromium-driver       # headless browser for the dashboard test (driven by Playwright)
)

missing=()
for p in "${PKGS[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully configured package
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all ${#PKGS[@]} packages already installed"
  exit 0
fi
echo "installing: ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
# Grid Engine asks debconf questions at install time. Preseed them so that the master package
# creates the cell "default" itself, with this host as master (otherwise it leaves SGE unconfigured).
H=$(hostname -s)
for p in gridengine-common gridengine-master gridengine-exec gridengine-client; do
  printf '%s\n' "$p shared/gridengineconfig boolean true" \
                "$p shared/gridenginecell string default" \
                "$p shared/gridenginemaster string $H"
done | debconf-set-selections

t0=$(date +%s%N)
apt-get update -qq
t1=$(date +%s%N)
# --no-install-recommends keeps the download small (chromium alone recommends ~100 MB more);
# nothing we use needs the recommended packages.
# "invoke-rc.d: policy-rc.d denied execution of start" is expected here: packages never start
# daemons on these machines; our start scripts do that.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/tansaku-apt-install.log 2>&1 || {
  tail -n 40 /tmp/tansaku-apt-install.log; exit 1; }
t2=$(date +%s%N)
echo "installed; apt-get update $(( (t1 - t0) / 1000000 )) ms, install $(( (t2 - t1) / 1000000 )) ms" \
     "(log: /tmp/tansaku-apt-install.log)"
