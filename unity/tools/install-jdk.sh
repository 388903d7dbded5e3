#!/usr/bin/env bash
# Install a headless JDK (javac, java) from Debian's archive, to compile the Android
# Keystore plugin against SDK stubs and run its seal. Does nothing when javac and java are
# there. Exits non-zero with a message when it cannot install.
set -euo pipefail

if command -v javac >/dev/null && command -v java >/dev/null; then
  exit 0
fi

bash "$(dirname "$0")/../../tools/apt-install.sh" install-jdk default-jdk-headless

if ! command -v javac >/dev/null || ! command -v java >/dev/null; then
  echo "install-jdk: installed default-jdk-headless but javac or java is still missing" >&2
  exit 1
fi
