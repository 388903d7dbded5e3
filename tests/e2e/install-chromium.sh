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

bash "$(dirname "$0")/../../tools/apt-install.sh" install-chromium "${PACKAGES[@]}"

if ! have_all; then
  echo "install-chromium: installed ${PACKAGES[*]} but /usr/bin/chromium does not run" >&2
  exit 1
fi
