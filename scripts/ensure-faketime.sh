#!/usr/bin/env bash
# The date guard runs the suite with the system clock moved (Debian's faketime / libfaketime).
set -euo pipefail
if command -v faketime >/dev/null; then echo "faketime: $(command -v faketime)"; exit 0; fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "faketime: installing Debian's faketime package"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq faketime >/dev/null
command -v faketime
