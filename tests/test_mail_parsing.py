"""Reading an email reply: only the family's new words survive, whatever mail program quoted ours;
bounces and automatic replies are recognised (bot.mail.parse, bot.mail.quotes)."""

from email.message import EmailMessage

from bot.mail.parse import parse
from bot.mail.quotes import html_text, new_text
from bot.messaging import replyto
from bot.settings import load_settings
from tests.peers.mailbox import delivery_failure

OURS = "Dear parent or carer,\nAmelia is not in school this morning and we have not had a reason."


def _mail(**headers) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Sara Khan <sara@example.org>")
    msg["To"] = headers.pop("To", "attendance+r1-aaaaaaaaaa@oakfield.example")
    msg["Subject"] = headers.pop("Subject", "Re: Oakfield Primary: Amelia not in school today")
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    return msg


def test_gmail_and_apple_plain_text_quotes_and_signatures_are_cut():
    text = (
        "She has a temperature, back tomorrow.\n\nThanks\nSara\n\nSent from my iPhone\n\n"
        "On Mon, 23 Nov 2026 at 09:16, Oakfield Primary <\nattendance@oakfield.example> wrote:\n\n"
        + "\n".join(f"> {line}" for line in OURS.splitlines())
    )
    assert new_text(text) == "She has a temperature, back tomorrow.\n\nThanks\nSara"


def test_outlook_quotes_below_a_rule_and_a_header_block():
    text = (
        "Amelia has the dentist this morning, in after lunch\n\n"
        "________________________________\nFrom: Oakfield Primary <attendance@oakfield.example>\n"
        "Sent: 23 November 2026 09:16\nTo: Sara Khan <sara@example.org>\n"
        "Subject: Amelia not in school\n\n" + OURS
    )
    assert new_text(text) == "Amelia has the dentist this morning, in after lunch"
    text = "Ill today.\n\n-----Original Message-----\nFrom: attendance@oakfield.example\n" + OURS
    assert new_text(text) == "Ill today."


def test_polish_french_and_inline_quotes():
    assert (
        new_text(
            "Kasia jest chora, wróci w środę.\n\nW dniu 23.11.2026 o 09:16 Oakfield Primary "
            "<attendance@oakfield.example> napisał:\n> " + OURS
        )
        == "Kasia jest chora, wróci w środę."
    )
    assert (
        new_text("Elle est malade.\n\nLe lun. 23 nov. 2026 à 09:16, Oakfield <a@b.example> a écrit :\n> x")
        == "Elle est malade."
    )
    assert new_text("> Amelia is not in school\nShe is with me at the hospital\n-- \nSara") == (
        "She is with me at the hospital"
    )


def test_html_only_replies_drop_the_quoted_message():
    gmail = (
        '<div dir="ltr">She is ill, back on Thursday<br></div><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">On Mon, 23 Nov 2026 at 09:16 Oakfield wrote:<br></div>'
        f'<blockquote class="gmail_quote">{OURS}</blockquote></div>'
    )
    assert new_text(html_text(gmail)) == "She is ill, back on Thursday"
    outlook = (
        '<html><body><div>Chickenpox, off all week&nbsp;</div><div id="appendonsend"></div>'
        f'<hr><div id="divRplyFwdMsg"><b>From:</b> Oakfield</div><div>{OURS}</div></body></html>'
    )
    assert new_text(html_text(outlook)) == "Chickenpox, off all week"

    msg = _mail(Message_ID="<h1@example.org>")
    msg.set_content(gmail, subtype="html")
    assert parse(msg.as_bytes()).text == "She is ill, back on Thursday"


def test_recipients_keys_and_reply_tokens():
    settings = load_settings(
        secret_key="mail-parse-secret-" + "x" * 16, smtp_from="attendance@oakfield.example"
    )
    address = replyto.address(settings, 42)
    assert address.startswith("attendance+r42-") and address.endswith("@oakfield.example")
    msg = _mail(To="Oakfield <" + address.upper() + ">", Message_ID="<abc@example.org>")
    msg.set_content("ill")
    mail = parse(msg.as_bytes())
    assert replyto.tokens_in(settings, mail.recipients) == [42]  # folded to capitals and back
    assert replyto.tokens_in(settings, [address.replace("r42-", "r43-")]) == []  # forged id
    assert mail.key.startswith("mid:") and parse(msg.as_bytes()).key == mail.key
    bare = _mail()
    bare.set_content("no message id")
    assert parse(bare.as_bytes()).key.startswith("raw:")


def test_automatic_replies_are_recognised():
    for headers in (
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Subject": "Automatic reply: Oakfield Primary: Amelia not in school today"},
        {"Subject": "Odpowiedź automatyczna: nieobecność"},
    ):
        msg = _mail(**headers)
        msg.set_content("I am away until Monday 30th November")
        assert parse(msg.as_bytes()).auto_reply, headers
    ordinary = _mail()
    ordinary.set_content("She is ill")
    assert not parse(ordinary.as_bytes()).auto_reply


def test_delivery_failures_are_read_and_delays_are_not_failures():
    original = _mail(
        From="attendance@oakfield.example",
        To="sara@nowhere.example",
        Message_ID="<17000.1.2@oakfield.example>",
        Reply_To="attendance+r7-abcdefghij@oakfield.example",
    )
    original.set_content(OURS)
    mail = parse(delivery_failure("attendance@oakfield.example", "sara@nowhere.example", original))
    assert mail.bounce is not None and not mail.auto_reply and mail.text == ""
    assert (mail.bounce.status, mail.bounce.recipients) == ("5.1.1", ["sara@nowhere.example"])
    assert mail.bounce.original_message_id == "<17000.1.2@oakfield.example>"
    assert mail.bounce.original_reply_to == ["attendance+r7-abcdefghij@oakfield.example"]
    assert "User unknown" in mail.bounce.diagnostic
    delayed = delivery_failure("attendance@oakfield.example", "sara@nowhere.example", original).replace(
        b"Action: failed\nStatus: 5.1.1", b"Action: delayed\nStatus: 4.4.1"
    )
    assert parse(delayed).bounce is None


def test_imap_settings_are_checked_at_start():
    import pytest

    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="IMAP_HOST needs IMAP_USERNAME and IMAP_PASSWORD"):
        load_settings(imap_host="imap.example.org")
    with pytest.raises(SettingsError, match="IMAP_POLL_SECONDS"):
        load_settings(imap_host="imap.example.org", imap_username="u", imap_password="p", imap_poll_seconds=1)
    ok = load_settings(
        imap_host="imap.example.org",
        imap_username="u",
        imap_password="p",
        secret_key="mail-parse-" + "Zk3v9Qm2Lp8xRt5Wb7Nc-aE",
        smtp_from="attendance@oakfield.example",
    )
    assert ok.imap_enabled and ok.reply_mailbox == "attendance@oakfield.example"
    assert not load_settings().imap_enabled
