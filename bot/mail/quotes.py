"""What the family wrote in an email reply, without the quoted message and the signature.

Mail programs quote the message they answer in many ways: lines starting with ">", a header line
("On Mon, 23 Nov 2026, Oakfield Primary <...> wrote:", in the family's language), Outlook's
"-----Original Message-----" or a "From: / Sent: / To:" block under a rule, and HTML quotes
(Gmail's ``gmail_quote``, Outlook's ``divRplyFwdMsg``, any ``<blockquote>``). The reader must see only
the new words: our own "we have no reason" text, quoted back, must never be read as the family's.
Signatures ("-- ", "Sent from my iPhone" in several languages) are cut too.
"""

import re
from html.parser import HTMLParser

# A line that introduces the quoted message, in the languages families write in.
_REPLY_HEADER = re.compile(
    r"^\s*(?:"
    r"On\b.{0,300}\bwrote:?"
    r"|W dniu\b.{0,300}\b(?:napisał|napisała|napisał\(a\)|pisze):?"
    r"|Le\b.{0,300}\ba écrit\s*:?"
    r"|El\b.{0,300}\bescribió:?"
    r"|Em\b.{0,300}\bescreveu:?"
    r"|În\b.{0,300}\ba scris:?"
    r"|Am\b.{0,300}\bschrieb\b.{0,200}:?"
    r"|.{0,300}<[^>\s]+@[^>\s]+>\s+(?:wrote|napisał|a écrit|escribió|escreveu|a scris|schrieb):?"
    r"|في\b.{0,300}كتب.{0,200}:?"
    r")\s*$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Oryginalna wiadomość|Mensaje original|"
    r"Message d'origine|Mensagem original|Mesaj original|Ursprüngliche Nachricht)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{8,}\s*$")
_HEADER_FIELD = re.compile(
    r"^\s*\*?(?:From|Od|De|Von|Sent|Wysłano|Enviado|Envoyé|Date|Data|Fecha|To|Do|"
    r"Para|À|Subject|Temat|Asunto|Objet|Assunto|Subiect)\s*:\*?\s",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(
    r"^\s*(?:--\s*|"
    r"Sent from my .{0,40}|Sent from Mail for Windows.*|Sent from Outlook.*|Get Outlook for .{0,20}|"
    r"Sent from Yahoo Mail.*|Wysłane z .{0,40}|Wysłano z .{0,40}|Enviado desde mi .{0,40}|"
    r"Envoyé de mon .{0,40}|Trimis de pe .{0,40}|Enviado do meu .{0,40}|Von meinem .{0,40} gesendet)\s*$",
    re.IGNORECASE,
)


def new_text(plain: str) -> str:
    """The new words of a plain-text reply (quotes, reply headers and signatures removed)."""
    lines = (plain or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        two = f"{line} {lines[i + 1]}" if i + 1 < len(lines) else line  # "On ... <\naddr> wrote:"
        if (
            _REPLY_HEADER.match(line)
            or _ORIGINAL.match(line)
            or _SIGNATURE.match(line)
            or (_REPLY_HEADER.match(two) and not line.startswith(">"))
        ):
            break
        if _RULE.match(line) or (_HEADER_FIELD.match(line) and _header_block(lines, i)):
            break
        if line.lstrip().startswith(">"):
            continue  # an inline quote; the family's words around it are kept
        kept.append(line.rstrip())
    text = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def _header_block(lines: list[str], i: int) -> bool:
    """Two or more "From:/Sent:/To:/Subject:" lines in a row: Outlook's quoted header."""
    return sum(1 for line in lines[i : i + 4] if _HEADER_FIELD.match(line)) >= 2


class _Text(HTMLParser):
    """HTML to text, dropping quoted parts (blockquote, Gmail/Outlook/Apple quote containers)."""

    QUOTE_IDS = {
        "divrplyfwdmsg",
        "appendonsend",
        "x_divrplyfwdmsg",
        "mail-editor-reference-message-container",
    }
    QUOTE_CLASSES = {
        "gmail_quote",
        "yahoo_quoted",
        "moz-cite-prefix",
        "gmail_extra",
        "ms-outlook-mobile-reference",
    }
    BREAKS = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "table"}
    VOID = {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "wbr", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.depth = 0  # > 0 inside a quote (or script/style)
        self.stopped = False
        self.stack: list[bool] = []  # per open element: did it start a quote?

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if a.get("id", "").lower() in self.QUOTE_IDS:
            self.stopped = True  # Outlook: everything after this marker is the quoted message
        quote = tag in ("blockquote", "script", "style", "head") or bool(
            self.QUOTE_CLASSES & set(a.get("class", "").lower().split())
        )
        if tag in self.BREAKS:
            self.parts.append("\n")
        if tag in self.VOID:
            return
        self.stack.append(quote)
        self.depth += quote

    def handle_endtag(self, tag):
        if tag in self.VOID or not self.stack:
            return
        self.depth -= self.stack.pop()
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.depth and not self.stopped:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    text = re.sub(r"[ \t\xa0]+", " ", "".join(parser.parts))
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()
