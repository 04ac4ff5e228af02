"""Show notes: Apple's description (p, ol, ul, li, a; ≤ 4000 bytes; ends with related articles) and content:encoded.

Outputs are parsed back (lxml.html, html.parser) rather than compared as strings, so the tests pin what podcast
apps see, not how the sanitizer happens to serialize it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import lxml.html
import pytest

from mediafeed.catalog.notes import APPLE_TAGS, DESCRIPTION_LIMIT, URL_SCHEMES, plain_text, render_notes
from mediafeed.models import Article

SITE = "https://www.example.org"
ARTICLES = [
    Article("MTHFR testing: what the evidence says", f"{SITE}/articles/mthfr"),
    Article("Folate & B12 <basics>", f"{SITE}/articles/folate?x=1&y=2"),
]
VOID = {"br", "hr", "img"}
TAG = re.compile(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9]*)")


def tags(html: str) -> set[str]:
    return {name.lower() for name in TAG.findall(html)}


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def assert_balanced(html: str) -> None:
    """Every element closed, in order: a description an app renders as intended (and a truncation that cut cleanly)."""
    parser = _Balance()
    parser.feed(html)
    parser.close()
    assert not parser.errors, parser.errors
    assert not parser.stack, f"unclosed: {parser.stack}"


def elements(html: str) -> list[lxml.html.HtmlElement]:
    return [e for e in lxml.html.fragments_fromstring(html) if not isinstance(e, str)]


def hrefs(html: str) -> list[str]:
    return [a.get("href") for e in elements(html) for a in e.iter("a") if a.get("href") is not None]


def text_of(html: str) -> str:
    return " ".join(e.text_content() for e in elements(html))


def assert_ends_with_related(description: str, articles: list[Article]) -> None:
    """The last element is a list linking every article, in order, with its title as the link text."""
    last = elements(description)[-1]
    assert last.tag == "ul"
    links = [(a.text_content(), a.get("href")) for a in last.iter("a")]
    assert links == [(a.title, a.url) for a in articles]
    assert description.rstrip().endswith("</ul>")


MARKDOWN_FEATURES = """\
# Heading one

## Heading two

Some **bold**, some *italic*, some `code` and a [link](https://www.example.org/x).

> A quote with a paragraph.

1. first
2. second

- bullet
    - nested bullet

---

```
code block
```

Line one
Line two with <span style="color:red">inline html</span> and <div class="x">a div</div>.

<table><tr><td>cell</td></tr></table>

![image](https://www.example.org/i.png)
"""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(MARKDOWN_FEATURES, id="markdown-features"),
        pytest.param("<iframe src='https://evil.example'></iframe><object>x</object><form><input></form>", id="embeds"),
        pytest.param("plain text only", id="plain"),
        pytest.param("", id="empty"),
    ],
)
def test_description_uses_only_apple_tags(body: str) -> None:
    description, _ = render_notes(body, SITE, ARTICLES)
    assert tags(description) <= APPLE_TAGS
    for element in elements(description):
        for node in element.iter():
            allowed = {"href", "title"} if node.tag == "a" else set()
            assert set(node.attrib) <= allowed, (node.tag, node.attrib)
    assert_balanced(description)
    assert_ends_with_related(description, ARTICLES)


def test_content_keeps_rich_formatting() -> None:
    _, content = render_notes(MARKDOWN_FEATURES, SITE, ARTICLES)
    assert {"strong", "em", "h2", "blockquote", "code", "p", "ul", "ol", "li", "a"} <= tags(content)
    assert not {"span", "div", "table", "img", "script", "style"} & tags(content)
    assert "bold" in text_of(content) and "inline html" in text_of(content)
    assert_balanced(content)
    assert_ends_with_related(content, ARTICLES)


def test_description_keeps_heading_text_as_paragraphs() -> None:
    description, _ = render_notes("## Dosing\n\nStart low.", SITE, [])
    assert "h2" not in tags(description)
    assert [(e.tag, e.text_content()) for e in elements(description)] == [("p", "Dosing"), ("p", "Start low.")]


def _paragraphs(size: int) -> str:
    paragraphs, total, i = [], 0, 0
    while total < size:
        paragraph = f"Paragraph {i}: " + "clinically relevant words " * 12
        paragraphs.append(paragraph)
        total += len(paragraph) + 2
        i += 1
    return "\n\n".join(paragraphs)


LONG_BODIES = {
    "many-paragraphs": _paragraphs(20_000),
    "one-huge-paragraph": "word " * 4_000,
    "headings-and-lists": "\n\n".join(f"## Part {i}\n\n{_paragraphs(300)}\n\n- a\n- b\n- c" for i in range(40)),
    "nested-lists": "Intro.\n\n" + "\n".join(f"- item {i}\n    - nested {i}\n        - deeper {i}" for i in range(400)),
    "list-then-long-text": "Intro.\n\n- outer\n    - inner\n- outer two\n\n" + "word " * 4_000,
    "multibyte": "\n\n".join("Ψυχιατρική 🧠 " * 40 for _ in range(60)),
    "links-everywhere": "\n\n".join(
        f"See [article {i}](/articles/{i}) and [more](https://www.example.org/{i})." for i in range(600)
    ),
}


@pytest.mark.parametrize("body", [pytest.param(v, id=k) for k, v in LONG_BODIES.items()])
@pytest.mark.parametrize("articles", [pytest.param(ARTICLES, id="two-articles"), pytest.param([], id="no-articles")])
def test_long_description_fits_apple_limit(body: str, articles: list[Article]) -> None:
    assert len(body.encode()) >= 4_000
    description, content = render_notes(body, SITE, articles)
    assert len(description.encode()) <= DESCRIPTION_LIMIT
    assert tags(description) <= APPLE_TAGS
    assert_balanced(description)
    if articles:
        assert_ends_with_related(description, articles)
    assert len(content.encode()) > len(description.encode())  # content:encoded is not truncated
    assert_balanced(content)


def test_twenty_kilobyte_body_keeps_opening_paragraphs() -> None:
    body = _paragraphs(20_000)
    description, _ = render_notes(body, SITE, ARTICLES)
    first_paragraph = body.split("\n\n")[0]
    assert elements(description)[0].text_content() == first_paragraph
    assert len(description.encode()) <= DESCRIPTION_LIMIT
    assert_ends_with_related(description, ARTICLES)


def test_short_description_is_not_truncated() -> None:
    body = "First.\n\nSecond.\n\n- one\n- two"
    description, _ = render_notes(body, SITE, ARTICLES)
    assert [" ".join(e.text_content().split()) for e in elements(description)[:3]] == ["First.", "Second.", "one two"]


@pytest.mark.parametrize("count", [1, 10, 40, 200])
def test_many_related_articles_still_fit(count: int) -> None:
    articles = [Article(f"Article {i}: " + "a long descriptive title " * 4, f"{SITE}/articles/{i}") for i in range(count)]
    description, content = render_notes(_paragraphs(3_000), SITE, articles)
    assert len(description.encode()) <= DESCRIPTION_LIMIT
    assert_balanced(description)
    last = elements(description)[-1]
    assert last.tag == "ul"
    kept = [a.get("href") for a in last.iter("a")]
    assert kept == [a.url for a in articles[: len(kept)]]  # a prefix, in order
    assert kept, "at least one related article stays in the description"
    assert [a.get("href") for a in elements(content)[-1].iter("a")] == [a.url for a in articles]


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        pytest.param("[x](/articles/x)", f"{SITE}/articles/x", id="root-relative"),
        pytest.param("[x](articles/x)", f"{SITE}/articles/x", id="relative"),
        pytest.param('<a href="/a?b=1&amp;c=2">x</a>', f"{SITE}/a?b=1&c=2", id="raw-html-query"),
        pytest.param("[x](https://other.example/p)", "https://other.example/p", id="absolute-kept"),
        pytest.param("[x](mailto:podcast@example.org)", "mailto:podcast@example.org", id="mailto-kept"),
        pytest.param("<https://www.example.org/auto>", f"{SITE}/auto", id="autolink"),
    ],
)
def test_links_made_absolute(markdown: str, expected: str) -> None:
    description, content = render_notes(markdown, SITE, [])
    assert hrefs(description) == [expected]
    assert hrefs(content) == [expected]


XSS = [
    ("<script>alert(1)</script>", ["<script", "alert"]),
    ("<SCRIPT SRC=https://evil.example/x.js></SCRIPT>", ["script", "evil.example"]),
    ('<img src="x" onerror="alert(1)">', ["onerror", "alert", "<img"]),
    ('<p onclick="alert(1)">click</p>', ["onclick", "alert"]),
    ("[click](javascript:alert(1))", ["javascript", "alert"]),
    ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript", "alert"]),
    ('<a href="java&#x09;script:alert(1)">x</a>', ["javascript", "script:", "alert"]),
    ('<a href=" javascript:alert(1)">x</a>', ["javascript", "alert"]),
    ('<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>', ["data:", "base64"]),
    ("[x](data:text/html,<script>alert(1)</script>)", ["data:", "<script", "alert"]),
    ('<a href="vbscript:msgbox(1)">x</a>', ["vbscript", "msgbox"]),
    ("<svg onload=alert(1)><circle/></svg>", ["svg", "onload", "alert"]),
    ("<style>body{background:url(javascript:alert(1))}</style>text", ["style", "background", "alert"]),
    ('<p style="background:url(x)">x</p>', ["style", "background"]),
    ('<iframe src="https://evil.example"></iframe>', ["iframe", "evil.example"]),
    ('<math><mi xlink:href="javascript:alert(1)">x</mi></math>', ["javascript", "alert", "xlink"]),
    ("<!-- <script>alert(1)</script> -->", ["<!--", "alert"]),
    ('<a href="https://ok.example" target="_blank" onmouseover="alert(1)">x</a>', ["onmouseover", "alert", "target"]),
]


@pytest.mark.parametrize(("payload", "forbidden"), [pytest.param(p, f, id=p[:40]) for p, f in XSS])
def test_xss_vectors_are_stripped(payload: str, forbidden: list[str]) -> None:
    for html in render_notes(f"Before.\n\n{payload}\n\nAfter.", SITE, []):
        lowered = html.lower()
        for needle in forbidden:
            assert needle.lower() not in lowered, (needle, html)
        for href in hrefs(html):
            assert href.split(":", 1)[0].lower() in URL_SCHEMES
        assert "After." in html


@pytest.mark.parametrize("char", [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]])
def test_control_characters_removed(char: str) -> None:
    body = f"be{char}fore\n\n[li{char}nk](/a{char}b)"
    articles = [Article(f"Ti{char}tle", f"{SITE}/r")]
    for html in render_notes(body, SITE, articles):
        assert char not in html
        assert "before" in text_of(html)
        assert "Title" in text_of(html)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Fish & chips < 5 and 3 > 2", id="amp-lt-gt"),
        pytest.param("AT&T; &copy without semicolon &", id="bare-ampersands"),
        pytest.param("x<y and 1 <2, a <- b", id="angle-brackets-not-tags"),
        pytest.param("Quotes \"double\" and 'single'", id="quotes"),
    ],
)
def test_special_characters_escaped(text: str) -> None:
    for html in render_notes(text, SITE, []):
        assert elements(html)[0].text_content() == text
        # Every '&' starts an entity and no '<' starts anything but a tag this sanitizer allows.
        assert not re.search(r"&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)", html)
        assert tags(html) <= {"p"}


def test_article_title_and_url_escaped() -> None:
    description, content = render_notes("", SITE, ARTICLES)
    for html in (description, content):
        assert_ends_with_related(html, ARTICLES)
        assert "<basics>" not in html


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Café naïve Ünïcödé façade", id="accents"),
        pytest.param("Emoji 🧠💊 and flags 🇺🇸 and ZWJ 👩‍⚕️", id="emoji"),
        pytest.param("مرحبا بالعالم", id="arabic-rtl"),
        pytest.param("שלום עולם", id="hebrew-rtl"),
        pytest.param("日本語のテキスト", id="cjk"),
        pytest.param("no-break\u00a0space and\u2009thin space", id="unicode-spaces"),
    ],
)
def test_unicode_preserved(text: str) -> None:
    articles = [Article(text, f"{SITE}/u")]
    for html in render_notes(text, SITE, articles):
        assert elements(html)[0].text_content() == text
        assert_ends_with_related(html, articles)


def test_rendering_is_deterministic() -> None:
    assert render_notes(MARKDOWN_FEATURES, SITE, ARTICLES) == render_notes(MARKDOWN_FEATURES, SITE, ARTICLES)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("<p>Fish &amp; chips</p>", "Fish & chips", id="entities-decoded"),
        pytest.param("<p>one</p>\n<p>  two  </p>", "one two", id="whitespace-collapsed"),
        pytest.param("<p>a &lt; b &gt; c</p>", "a < b > c", id="angles"),
    ],
)
def test_plain_text(html: str, expected: str) -> None:
    assert plain_text(html) == expected
