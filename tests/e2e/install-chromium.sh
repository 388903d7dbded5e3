#!/usr/bin/env bash
# Install the browser the console tests drive, from Debian's archive: `chromium` (headless,
# driven by Playwright over CDP with executable_path=/usr/bin/chromium) and its fonts.
# Playwright never downloads a browser of its own here. Does nothing when chromium is there.
# Exits non-zero with a message when it cannot install.
set -euo pipefail

PACKAGES=(chromium fonts-liberation)

have_all() {
  [ -x /usr/bin/chromium ] && /usr/bin/chromium --version >/dev/null 2>&1
}

if have_all; then
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "install-chromium: apt-get not found; install Debian's chromium package by hand" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-chromium: not root and no password-less sudo; run as root: apt-get install ${PACKAGES[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Test workers run in parallel and may each install something: one apt at a time (flock),
# and wait for any other apt/dpkg that holds the lock rather than fail.
APT=("${SUDO[@]}" flock /tmp/game-backend-apt.lock apt-get -o DPkg::Lock::Timeout=600)
"${APT[@]}" update -qq
"${APT[@]}" install -y -qq --no-install-recommends "${PACKAGES[@]}"

if ! have_all; then
  echo "install-chromium: installed ${PACKAGES[*]} but /usr/bin/chromium does not run" >&2
  exit 1
fi
