#!/usr/bin/env bash
# Install what compiling and running the Unity package's C# outside Unity needs, from Debian's
# archive: the Mono C# compiler and runtime, System.Net.Http, Newtonsoft.Json, NUnit's framework.
# Does nothing when they are already there. Exits non-zero with a message when it cannot install.
set -euo pipefail

PACKAGES=(mono-mcs libmono-system-net-http4.0-cil libnewtonsoft-json5.0-cil libnunit-framework2.6.3-cil)

have_all() {
  command -v mcs >/dev/null && command -v mono >/dev/null \
    && compgen -G "/usr/lib/cli/Newtonsoft.Json-*/Newtonsoft.Json.dll" >/dev/null \
    && compgen -G "/usr/lib/cli/nunit.framework-*/nunit.framework.dll" >/dev/null \
    && compgen -G "/usr/lib/mono/4.5/System.Net.Http.dll" >/dev/null
}

if have_all; then
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "install-mono: apt-get not found; install Mono (mcs, mono), Newtonsoft.Json and nunit.framework by hand" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-mono: not root and no password-less sudo; run as root: apt-get install ${PACKAGES[*]}" >&2
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
  echo "install-mono: installed ${PACKAGES[*]} but the compiler or an assembly is still missing" >&2
  exit 1
fi
