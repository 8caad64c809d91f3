#!/usr/bin/env bash
# The real peers the tests run Weir against, from Debian's packages: Prometheus and promtool
# (PromQL and remote write/read), VictoriaMetrics' vmagent and vmalert (a second remote-write
# sender, a rules client), and Chromium (the web UI, driven by Playwright). Installs only what
# is missing; a no-op on a machine that has them all.
#
# Needs root (or sudo). Where neither is available the tests that need a missing peer skip
# and say why; under CI (CI=true) a missing peer is an error instead, so CI never passes by
# skipping the comparison it exists to make.
set -euo pipefail

declare -A want=([prometheus]=prometheus [promtool]=prometheus [vmagent]=victoria-metrics
                 [vmalert]=victoria-metrics [victoria-metrics]=victoria-metrics [chromium]=chromium)
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')

if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo -n)
else
  echo "install_peers: cannot install $packages (needs root or sudo); the tests that need them will skip" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi
echo "install_peers: installing $packages from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -q
# shellcheck disable=SC2086
"${run[@]}" apt-get install -y -q $packages
