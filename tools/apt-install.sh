#!/usr/bin/env bash
# Install Debian packages for a test: `apt-install.sh <who> <package>...`. As root, or with
# password-less sudo; one apt at a time (test workers run in parallel and may each install
# something), waiting for any other apt/dpkg that holds the lock rather than failing.
# Exits non-zero with a message naming <who> when it cannot install.
set -euo pipefail

who=$1
shift

if ! command -v apt-get >/dev/null; then
  echo "$who: apt-get not found; install these Debian packages by hand: $*" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "$who: not root and no password-less sudo; run as root: apt-get install $*" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
APT=("${SUDO[@]}" flock /tmp/game-backend-apt.lock apt-get -o DPkg::Lock::Timeout=600)
"${APT[@]}" update -qq
"${APT[@]}" install -y -qq --no-install-recommends "$@"
