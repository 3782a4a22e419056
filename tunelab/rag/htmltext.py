"""HTML → text with the structure chunking needs: headings become Markdown `#` lines (so prose is
split by headings like a Markdown file), blocks become paragraphs, scripts and styles vanish.
Also collects the page title and the links (for the crawler). Standard library only."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_SKIP = {"script", "style", "noscript", "template", "svg", "head", "iframe", "canvas"}
_BLOCK = {"p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "table", "tr",
          "ul", "ol", "dl", "dt", "dd", "blockquote", "figure", "figcaption", "form", "hr", "br", "body", "html"}
_HEADINGS = {f"h{i}": i for i in range(1, 7)}


@dataclass
class HtmlPage:
    title: str | None
    text: str
    links: list[str] = field(default_factory=list)  # href values as written (resolve against the page URL)


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self.title: list[str] = []
        self.skip_depth = 0
        self.in_title = False
        self.pre_depth = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self.in_title = True
        elif tag in _SKIP:
            self.skip_depth += 1
        elif tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)
        if self.skip_depth:
            return
        if tag in _HEADINGS:
            self.parts.append("\n\n" + "#" * _HEADINGS[tag] + " ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "pre":
            self.pre_depth += 1
            self.parts.append("\n\n")
        elif tag in ("td", "th"):
            if self.parts and not self.parts[-1].endswith("\n"):
                self.parts.append(" | ")
        elif tag in _BLOCK:
            self.parts.append("\n\n" if tag not in ("br", "tr") else "\n")

    def handle_startendtag(self, tag: str, attrs) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _SKIP:  # <svg/> opens and closes at once
            self.skip_depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif self.skip_depth:
            return
        elif tag in _HEADINGS or tag in _BLOCK:
            self.parts.append("\n\n")
        elif tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skip_depth:
            if self.pre_depth:
                self.parts.append(data)
                return
            data = re.sub(r"\s+", " ", data)
            if not self.parts or self.parts[-1].endswith(("\n", "# ", "- ", "| ")):
                data = data.lstrip()  # no stray indent at the start of a line
            if data:
                self.parts.append(data)


def html_to_text(html: str) -> HtmlPage:
    """Parse `html` (forgiving of broken markup) into title, structured text and links."""
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    text = "\n".join(line.rstrip() for line in "".join(parser.parts).splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    title = re.sub(r"\s+", " ", "".join(parser.title)).strip() or None
    return HtmlPage(title=title, text=text, links=parser.links)
