"""Benchmark: reading families' email replies from a real IMAP server (Debian's dovecot on loopback).

Builds one school with N families whose only channel is email, runs register close and sends the
first-day emails through the bot's SMTP transport into a relay, has every family reply in the
thread (quoted text and a signature below their words), then times one ``read-mailbox`` pass: IMAP
search, Message-ID headers, fetch, quote stripping, understanding, routing and marking seen. Prints
replies per second. SQLite; needs the ``dovecot`` binary (scripts/ensure-dovecot.sh).

    python -m bench.mailbox_read [--families 200]
"""

import argparse
import tempfile
import time
from datetime import date

from sqlmodel import Session, select

DAY = date(2026, 11, 23)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=200)
    args = parser.parse_args()

    from bot.firstday.scheduled import send_outbox
    from bot.firstday.service import register_close
    from bot.mail.service import read_mailbox
    from bot.settings import load_settings
    from storage import migrate
    from storage.db import make_engine
    from storage.models import AbsenceCase
    from tests import factories as f
    from tests.peers.mailbox import PASSWORD, dovecot_server, mail_relay
    from tests.test_email_replies import _family_reply

    url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    migrate.upgrade(url)
    engine = make_engine(url)
    with dovecot_server() as dovecot:
        user = dovecot.new_user()
        with mail_relay(dovecot, domain="oakfield.example", users={user: user}) as relay:
            settings = load_settings(
                database_url=url,
                secret_key="bench-mailbox-" + "x" * 16,
                smtp_host="127.0.0.1",
                smtp_port=relay.port,
                smtp_starttls=False,
                smtp_from=f"{user}@oakfield.example",
                imap_host=dovecot.host,
                imap_port=dovecot.port,
                imap_ssl=False,
                imap_username=user,
                imap_password=PASSWORD,
            )
            with Session(engine) as s:
                school = f.school(s, name="Oakfield Primary")
                for i in range(args.families):
                    p = f.pupil(s, school, first=f"Child{i}", last="Bench")
                    f.contact(s, school, p, mobile=None, email=f"parent{i}@example.org")
                    f.mark(s, p, DAY, "AM", "N")
                register_close(s, school=school, session_name="AM", settings=settings, now=f.at(DAY, "09:15"))
                s.commit()
            send_outbox(engine, now=f.at(DAY, "09:16"), settings=settings)
            for sent in relay.sent:
                relay.send(_family_reply(sent.message, "She has a temperature, back on Wednesday."))
            start = time.perf_counter()
            summary = read_mailbox(engine, settings=settings, now=f.at(DAY, "10:00"))
            took = time.perf_counter() - start
    with Session(engine) as s:
        explained = len(s.exec(select(AbsenceCase).where(AbsenceCase.status == "explained")).all())
    print(
        f"read-mailbox: {summary['replies']} replies in {took:.2f} s ({summary['replies'] / took:.0f}/s); "
        f"cases explained {explained}/{args.families}"
    )


if __name__ == "__main__":
    main()
