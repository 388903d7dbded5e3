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

bash "$(dirname "$0")/../../tools/apt-install.sh" install-mono "${PACKAGES[@]}"

if ! have_all; then
  echo "install-mono: installed ${PACKAGES[*]} but the compiler or an assembly is still missing" >&2
  exit 1
fi
