#!/usr/bin/env bash
# The mailbox tests read real email over IMAP: Debian's dovecot (IMAP + LMTP for delivery). The tests
# start their own throwaway instance in a temporary directory on a free loopback port
# (tests/peers/mailbox.py); this only makes sure the programs are installed. A system dovecot the
# package may start is not used (nor needed).
set -euo pipefail
if command -v dovecot >/dev/null || [ -x /usr/sbin/dovecot ]; then
  if [ -e /usr/lib/dovecot/lmtp ] && [ -e /usr/lib/dovecot/imap ]; then
    echo "dovecot: $(/usr/sbin/dovecot --version)"; exit 0
  fi
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "dovecot: installing Debian's dovecot-imapd and dovecot-lmtpd packages"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dovecot-imapd dovecot-lmtpd >/dev/null
/usr/sbin/dovecot --version
