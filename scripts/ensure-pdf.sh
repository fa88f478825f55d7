#!/usr/bin/env bash
# Stage letters are also written as PDF by WeasyPrint, which needs Pango (HarfBuzz shapes Arabic,
# Bengali, Gurmukhi and Urdu) and fonts that have those scripts: Debian's Noto fonts.
set -euo pipefail
need=()
for lib in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core fonts-noto-ui-core; do
  dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q "install ok installed" || need+=("$lib")
done
if [ ${#need[@]} -eq 0 ]; then echo "pdf: Pango and the Noto fonts are installed"; exit 0; fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "pdf: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
