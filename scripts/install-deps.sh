#!/usr/bin/env bash
# Installs what gendec needs from Debian's packages; quick and silent when everything is present.
#   bash scripts/install-deps.sh            build + test dependencies
#   bash scripts/install-deps.sh --slurm    also Slurm and munge (the Slurm tests and `gendec submit` locally)
#   bash scripts/install-deps.sh --bench    also PyTorch, h5py, numpy (the side-by-side benchmark, ~600 MB)
set -euo pipefail

pkgs=(build-essential cmake pkg-config git openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
      libopenblas-dev libyaml-dev zlib1g-dev libpng-dev ca-certificates)
for arg in "$@"; do
  case "$arg" in
    --slurm) pkgs+=(slurmctld slurmd slurm-client munge) ;;
    --bench) pkgs+=(python3-torch python3-h5py python3-numpy) ;;
    --fuzz)  pkgs+=(clang libclang-rt-14-dev) ;;
    --data)  pkgs+=(dataset-fashion-mnist); command -v npm >/dev/null || pkgs+=(npm) ;;
    *) echo "install-deps.sh: unknown option '$arg' (use --slurm, --bench, --data, --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps.sh: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps.sh: run as root or install sudo" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh them once, or when an install fails on stale lists.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
  $SUDO apt-get update -qq
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/gendec-apt.log 2>&1; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/gendec-apt.log 2>&1 ||
    { tail -20 /tmp/gendec-apt.log >&2; echo "install-deps.sh: apt-get failed (log: /tmp/gendec-apt.log)" >&2; exit 1; }
fi
