"""The HTML inside Open5e's Markdown, as Markdown (and `\\n` written out, as a line break).

Some documents write parts of their text in HTML: Black Flag's `<br>` between the paragraphs of
an action, Spells That Don't Suck's statistics tables, headings, lists and quotes. A terminal (and
an editor's hover) drops HTML blocks, so a table or a summoned creature's actions were lost and
`<br>` ran two sentences together; the same text in Markdown reads everywhere.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_TAGS = re.compile(
    r"</?(?:br|p|em|i|strong|b|h[1-6]|ul|ol|li|table|thead|tbody|tr|th|td|blockquote|a|span|div)"
    r"\b[^>]*>",
    re.IGNORECASE,
)
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
# a line of its own that starts with a bold label ("**Armor:** Light armor", "**Attack.** Make…")
# right after a line of text: the author's next line, which Markdown would run into the last
_LABEL_LINE = re.compile(r"(?<=[^\s])[ \t]*\r?\n(?=[ \t]*\*\*[^*\n]{1,80}?[.:]\*\*)")
_INLINE = {"em": "*", "i": "*", "strong": "**", "b": "**"}
# a new paragraph written as the book's first-line indent, a line break and two spaces after a
# sentence (Tome of Heroes, 185 texts: `…long rest.\n  In addition, as an action…`), which
# Markdown runs into the paragraph before it; not inside a list item or a table
_INDENTED = re.compile(r"(?<=[.!?:\"”’)])[ \t]*\n[ \t]{2,}(?=[A-Z*_\"“])")
_LIST_LINE = re.compile(r"[ \t]*(?:[-*+][ \t]|\d+[.)][ \t]|\|)")


class _Markdown(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[str] = []  # "ul" / "ol" being written, innermost last
        self.quotes: list[int] = []  # where each open blockquote's text starts in `out`
        self.rows: list[list[str]] | None = None  # the open table's rows
        self.cell: list[str] | None = None
        self.header = False
        self.link = ""

    def _write(self, text: str) -> None:
        (self.cell if self.cell is not None else self.out).append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INLINE:
            self._write(_INLINE[tag])
        elif tag == "br":
            self._write(" " if self.cell is not None else "\n\n")
        elif tag == "p" or tag == "div":
            self._write("\n\n")
        elif tag[0] == "h" and tag[1:].isdigit():
            self._write(f"\n\n{'#' * int(tag[1:])} ")
        elif tag in ("ul", "ol"):
            self.lists.append(tag)
            self._write("\n")
        elif tag == "li":
            depth = "  " * (len(self.lists) - 1)
            self._write(f"\n{depth}{'1.' if self.lists[-1:] == ['ol'] else '-'} ")
        elif tag == "blockquote":
            self.out.append("\n\n")
            self.quotes.append(len(self.out))
        elif tag == "table":
            self.rows, self.header = [], False
        elif tag == "tr" and self.rows is not None:
            self.rows.append([])
        elif tag in ("td", "th") and self.rows is not None:
            self.header = self.header or (tag == "th" and len(self.rows) == 1)
            self.cell = []
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.link = href if href.startswith(("http://", "https://")) else ""
            self._write("[" if self.link else "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INLINE:
            self._write(_INLINE[tag])
        elif tag in ("p", "div") or (tag[0] == "h" and tag[1:].isdigit()):
            self._write("\n\n")
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._write("\n\n")
        elif tag == "blockquote" and self.quotes:
            start = self.quotes.pop()
            text = "".join(self.out[start:]).strip()
            self.out[start:] = ["\n".join(f"> {line}".rstrip() for line in text.split("\n"))]
            self.out.append("\n\n")
        elif tag in ("td", "th") and self.cell is not None and self.rows:
            text = " ".join("".join(self.cell).split()).replace("|", "\\|")
            self.rows[-1].append(text)
            self.cell = None
        elif tag == "table" and self.rows is not None:
            self.out.append("\n\n" + _table([r for r in self.rows if r], self.header) + "\n\n")
            self.rows = None
        elif tag == "a" and self.link:
            self._write(f"]({self.link})")
            self.link = ""

    def handle_data(self, data: str) -> None:
        if (self.rows is not None and self.cell is None) or (self.lists and not data.strip()):
            return  # the whitespace between a table's tags, or a list's items
        self._write(data)


def _table(rows: list[list[str]], header: bool) -> str:
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    head, body = (rows[0], rows[1:]) if header else ([""] * width, rows)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * width]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def _paragraph(found: re.Match[str]) -> str:
    """A paragraph break for an indented new line, unless the line it ends is a list's or a
    table's (whose next line may be indented on purpose)."""
    text = found.string
    line = text[text.rfind("\n", 0, found.start()) + 1 : found.start()]
    return found[0] if _LIST_LINE.match(line) else "\n\n"


def needs_markdown(text: str) -> bool:
    """Whether `markdown` would change `text` (a quick test, for every field of every record)."""
    return "<" in text or "\\" in text or "\n**" in text or "\n  " in text


def markdown(text: str) -> str:
    """`text` with its HTML written as Markdown, a line break written as the two characters
    `\\n` (Open5e's copy of the 2014 SRD, in 87 items' text) as a line break, and a line that
    starts with a bold label kept a line of its own (`**Armor:** …` then `**Weapons:** …`, a
    Level Up class's proficiencies), a paragraph written as an indented line (Tome of Heroes)
    a paragraph; other text is returned as it is."""
    text = _LABEL_LINE.sub("  \n", text.replace("\\n", "\n"))
    text = _INDENTED.sub(_paragraph, text)
    if "<" not in text or not _TAGS.search(text):
        return text
    parser = _Markdown()
    parser.feed(text)
    parser.close()
    return _BLANKS.sub("\n\n", "".join(parser.out)).strip()
