"""A deterministic synthetic world of feeds and article pages, served on 127.0.0.1.

Feed ``i`` is RSS 2.0 (``i % 3 == 0``), Atom 1.0 (1) or JSON Feed 1.1 (2), 50 items each with
full HTML content (about 100 KB per feed). Generation ``g`` holds items ``10g .. 10g+49``: after
switching from generation 0 to 1 every feed has 10 new items and drops 10 old ones, so a second
fetch sees every feed changed. Article pages (``/a/<feed>/<item>/2025/06/<slug>.html``, about 75 KB) have site
chrome, an 800-word article, a related box linking to other articles of the world, and comments.

The server is a small asyncio HTTP/1.1 server with TCP_NODELAY (see FACTS.md), run in its own process
(``python bench/world.py serve --feeds N``) so that it does not share the measured process's GIL.
It prints ``PORT <n>`` on stdout once every feed of both generations is built. Control:
``GET /_control/gen/<g>`` switches the generation, ``GET /_control/stats`` returns request counts
as JSON (and ``?reset=1`` resets them).

Everything derives from ``random.Random(seed)``: the same N gives the same bytes on every run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from itertools import accumulate

ITEMS_PER_FEED = 50
NEW_PER_GENERATION = 10
BASE_TIME = datetime(2025, 6, 1, tzinfo=UTC)

# A plain English vocabulary (news-ish), so that full-text search queries are realistic.
_WORDS = """
the of and to in a is that for on it with as was by at be this from have are has not an or
but were they which their one said after had been would its more also new about year people
government minister city council police court report market company bank prices energy water
climate election vote party leader president state health hospital school students teachers
university research scientists study data study researchers found program budget plan policy
tax taxes economy growth inflation rates interest jobs workers union strike wages housing rent
homes building construction transport rail train trains bus airport flights airline travel
tourism weather storm flood floods rain heat wildfire fire drought river coast sea ocean
fishing farmers crops food supply shortage trade exports imports tariffs deal talks agreement
summit border security military army defence war peace ceasefire troops attack protest
protesters rally campaign candidates debate parliament senate congress law bill reform rules
regulator investigation inquiry trial judge jury verdict sentence prison charges fraud case
technology software internet phone phones data privacy artificial intelligence chips computer
startup investors shares stock profit losses revenue quarter sales customers retail shops
music film festival museum art artist book novel author theatre game team players season
match final league cup coach goal win victory defeat championship olympic record race
doctors nurses patients vaccine virus disease treatment cancer drug drugs mental care
children families parents community village region province district local national global
international world europe africa asia america pacific atlantic north south east west
morning evening week month monday tuesday wednesday thursday friday weekend today yesterday
official officials spokesperson statement announced warned expected according told added
however while because although despite during before since until across between among
million billion percent thousands hundreds dozens several many some most few number
first second third last next early late major small large high low long short big little
solar wind nuclear coal gas oil power grid electricity battery batteries cars electric
road roads bridge tunnel port ship ships cargo container freight delivery network service
""".split()  # noqa: SIM905 - a word list reads better as text
_NAMES = """Alice Bruno Chiara Dmitri Elena Farid Grace Hiro Ines Jonas Kofi Lena Mateo Nadia
Oskar Priya Quentin Rosa Samir Tamara Umar Vera Wen Ximena Yusuf Zoe""".split()  # noqa: SIM905
_SURNAMES = """Adler Bauer Costa Dubois Eriksen Fischer Garcia Haddad Ito Jensen Kowalski Lopez
Moreau Nakamura Okafor Petrov Rossi Schmidt Tanaka Ueda Varga Weber Xu Yilmaz Zhang""".split()  # noqa: SIM905


class Text:
    """Deterministic text pools built once per world (fast composition afterwards)."""

    def __init__(self, seed: int = 20260601) -> None:
        rnd = random.Random(seed)
        # Zipf-like weights: common words are much more frequent than rare ones.
        weights = [1.0 / (1 + i) ** 0.8 for i in range(len(_WORDS))]
        self.rnd = rnd

        # A long tail of 20,000 made-up words (names, places, topics), Zipf-distributed, about a
        # quarter of all words: real news text has tens of thousands of distinct terms, and
        # full-text queries on distinctive words must match few stories, not most of them.
        syllables = [
            c + v for c in "bcdfgklmnprstvz" for v in ("a", "e", "i", "o", "u", "ar", "en", "ol")
        ]
        self.rare = list(
            dict.fromkeys(
                "".join(rnd.choices(syllables, k=rnd.randint(2, 4))) for _ in range(24000)
            )
        )[:20000]
        rare_cum = list(accumulate(1.0 / (1 + i) for i in range(len(self.rare))))

        def sentence(n: int) -> str:
            words = rnd.choices(_WORDS, weights, k=n)
            for i in range(n):
                if rnd.random() < 0.25:
                    words[i] = rnd.choices(self.rare, cum_weights=rare_cum)[0]
            return words[0].capitalize() + " " + " ".join(words[1:]) + "."

        def paragraph(n_sentences: int) -> str:
            return " ".join(sentence(rnd.randint(8, 20)) for _ in range(n_sentences))

        self.titles = [
            " ".join(
                rnd.choices(self.rare, cum_weights=rare_cum)[0] if rnd.random() < 0.3 else w
                for w in rnd.choices(_WORDS[40:], k=rnd.randint(5, 10))
            ).capitalize()
            for _ in range(4000)
        ]
        # ~67 words per paragraph: 12 of them make an 800-word article.
        self.paragraphs = [paragraph(5) for _ in range(600)]
        self.comments = [paragraph(2) for _ in range(300)]
        self.people = [f"{a} {b}" for a in _NAMES for b in _SURNAMES]

    def title(self, feed: int, item: int) -> str:
        return self.titles[(feed * 7919 + item * 104729) % len(self.titles)]

    def para(self, feed: int, item: int, n: int) -> str:
        return self.paragraphs[(feed * 31 + item * 17 + n * 101) % len(self.paragraphs)]

    def person(self, feed: int, item: int) -> str:
        return self.people[(feed * 13 + item * 7) % len(self.people)]


class World:
    """N feeds and their article pages, addressed by a base URL (``http://127.0.0.1:port``)."""

    def __init__(self, n_feeds: int, base: str, seed: int = 20260601) -> None:
        self.n_feeds = n_feeds
        self.base = base.rstrip("/")
        self.text = Text(seed)

    # -- addresses ---------------------------------------------------------------------

    @staticmethod
    def kind(feed: int) -> str:
        return ("rss", "atom", "json")[feed % 3]

    def feed_path(self, feed: int) -> str:
        ext = {"rss": "xml", "atom": "atom", "json": "json"}[self.kind(feed)]
        return f"/feeds/{feed}.{ext}"

    def feed_url(self, feed: int) -> str:
        return self.base + self.feed_path(feed)

    def article_url(self, feed: int, item: int) -> str:
        slug = "-".join(self.text.title(feed, item).lower().split()[:6])
        return f"{self.base}/a/{feed}/{item}/2025/06/{slug}.html"

    def items(self, gen: int) -> range:
        first = NEW_PER_GENERATION * gen
        return range(first + ITEMS_PER_FEED - 1, first - 1, -1)  # newest first

    def published(self, feed: int, item: int) -> datetime:
        return BASE_TIME + timedelta(hours=item * 6, minutes=feed % 360)

    @staticmethod
    def last_modified(gen: int) -> str:
        return format_datetime(BASE_TIME + timedelta(days=gen), usegmt=True)

    @staticmethod
    def etag(feed: int, gen: int) -> str:
        return f'"f{feed}-g{gen}"'

    # -- feeds -------------------------------------------------------------------------

    def _content_html(self, feed: int, item: int) -> str:
        t = self.text
        paras = "".join(f"<p>{t.para(feed, item, n)}</p>" for n in range(4))
        return (
            f'<figure><img src="{self.base}/img/{feed}/{item}.jpg" alt=""></figure>{paras}'
            f'<p><a href="{self.article_url(feed, item)}">Read more</a></p>'
        )

    def _summary(self, feed: int, item: int) -> str:
        return self.text.para(feed, item, 0)[:300]

    def feed_title(self, feed: int) -> str:
        return f"Synthetic News {feed}: " + self.text.title(feed, 99991)[:40]

    def feed_bytes(self, feed: int, gen: int) -> tuple[bytes, str]:
        """(body, content type) of one feed in one generation."""
        kind = self.kind(feed)
        if kind == "rss":
            return self._rss(feed, gen), "application/rss+xml; charset=utf-8"
        if kind == "atom":
            return self._atom(feed, gen), "application/atom+xml; charset=utf-8"
        return self._json(feed, gen), "application/feed+json; charset=utf-8"

    def _rss(self, feed: int, gen: int) -> bytes:
        t = self.text
        out = [
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"'
            ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
            f"<title>{escape(self.feed_title(feed))}</title><link>{self.base}/site/{feed}/</link>",
            "<description>A synthetic feed for benchmarks</description>",
        ]
        for item in self.items(gen):
            url = self.article_url(feed, item)
            out.append(
                f"<item><title>{escape(t.title(feed, item))}</title><link>{url}</link>"
                f'<guid isPermaLink="false">feed{feed}-item{item}</guid>'
                f"<dc:creator>{t.person(feed, item)}</dc:creator>"
                f"<pubDate>{format_datetime(self.published(feed, item), usegmt=True)}</pubDate>"
                f"<description>{escape(self._summary(feed, item))}</description>"
                f"<content:encoded><![CDATA[{self._content_html(feed, item)}]]></content:encoded>"
                "</item>"
            )
        out.append("</channel></rss>")
        return "\n".join(out).encode()

    def _atom(self, feed: int, gen: int) -> bytes:
        t = self.text
        newest = self.published(feed, self.items(gen)[0]).isoformat()
        out = [
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
            f"<title>{escape(self.feed_title(feed))}</title><id>urn:bench:feed:{feed}</id>",
            f'<link rel="alternate" href="{self.base}/site/{feed}/"/><updated>{newest}</updated>',
        ]
        for item in self.items(gen):
            when = self.published(feed, item).isoformat()
            out.append(
                f"<entry><title>{escape(t.title(feed, item))}</title>"
                f'<link rel="alternate" href="{self.article_url(feed, item)}"/>'
                f"<id>urn:bench:feed:{feed}:item:{item}</id>"
                f"<author><name>{t.person(feed, item)}</name></author>"
                f"<published>{when}</published><updated>{when}</updated>"
                f"<summary>{escape(self._summary(feed, item))}</summary>"
                f'<content type="html">{escape(self._content_html(feed, item))}</content>'
                "</entry>"
            )
        out.append("</feed>")
        return "\n".join(out).encode()

    def _json(self, feed: int, gen: int) -> bytes:
        t = self.text
        doc = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": self.feed_title(feed),
            "home_page_url": f"{self.base}/site/{feed}/",
            "feed_url": self.feed_url(feed),
            "items": [
                {
                    "id": f"feed{feed}-item{item}",
                    "url": self.article_url(feed, item),
                    "title": t.title(feed, item),
                    "summary": self._summary(feed, item),
                    "content_html": self._content_html(feed, item),
                    "date_published": self.published(feed, item).isoformat(),
                    "authors": [{"name": t.person(feed, item)}],
                }
                for item in self.items(gen)
            ],
        }
        return json.dumps(doc, indent=1).encode()

    # -- pages -------------------------------------------------------------------------

    def page_bytes(self, feed: int, item: int) -> bytes:
        """An article page of realistic weight (about 90 KB, ~1,500 elements)."""
        t = self.text
        title = escape(t.title(feed, item))
        author = t.person(feed, item)
        when = self.published(feed, item).isoformat()
        nav = "".join(
            f'<li><a href="{self.base}/section/{n}/">{escape(t.titles[n][:18])}</a></li>'
            for n in range(160)
        )
        most_read = "".join(
            f'<div class="card"><div class="card-inner"><a href="{self.article_url((feed + n) % self.n_feeds, n)}">'
            f'<span class="rank">{n}</span><span class="headline">{escape(t.titles[n + 200])}</span></a>'
            f'<div class="meta"><span class="tag">{_WORDS[n + 60]}</span><button class="share">Share</button></div></div></div>'
            for n in range(60)
        )
        body = []
        for n in range(12):
            if n in (4, 8):
                body.append(f"<h2>{escape(t.title(feed, item + n)[:50])}</h2>")
            body.append(f"<p>{t.para(feed, item, n)}</p>")
        related = "".join(
            f'<li><a href="{self.article_url((feed + d * 7) % self.n_feeds, item - d)}">'
            f"{escape(t.title((feed + d * 7) % self.n_feeds, item - d))}</a>"
            f'<span class="source">Synthetic News {(feed + d * 7) % self.n_feeds}</span></li>'
            for d in range(1, 6)
        )
        comments = "".join(
            f'<li class="comment"><span class="who">{t.people[(feed + c) % len(t.people)]}'
            f"</span><p>{t.comments[(feed * 11 + item * 3 + c) % len(t.comments)]}</p></li>"
            for c in range(30)
        )
        footer = "".join(
            f'<a href="{self.base}/about/{n}">{escape(t.titles[n + 100][:20])}</a> '
            for n in range(30)
        )
        # Inline script and style, like real pages (bulk the extractor has to skip).
        script = "var cfg = " + json.dumps({"k": [t.titles[n] for n in range(120)]}) + ";"
        style = "".join(f".c{n}{{margin:{n}px;padding:{n % 7}px}}" for n in range(600))
        html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Synthetic News {feed}</title>
<meta property="og:title" content="{title}"><meta name="author" content="{author}">
<meta property="article:published_time" content="{when}">
<meta property="og:site_name" content="Synthetic News {feed}">
<style>{style}</style><script>{script}</script></head>
<body><header class="site-header"><div class="logo">Synthetic News {feed}</div>
<nav class="menu"><ul>{nav}</ul></nav><form class="search"><input name="q"></form></header>
<div class="ad">Advertisement</div>
<main><article class="story"><h1>{title}</h1>
<p class="byline">By <span class="author">{author}</span> <time datetime="{when}">{when}</time></p>
{"".join(body)}
</article>
<aside class="related"><h3>Related stories</h3><ul>{related}</ul></aside>
<section class="comments"><h3>Comments</h3><ol>{comments}</ol></section></main>
<aside class="most-read"><h3>Most read</h3>{most_read}</aside>
<footer class="site-footer">{footer}<p>Copyright Synthetic News</p></footer>
<script>{script}</script></body></html>"""
        return html.encode()


_REASONS = {200: "OK", 304: "Not Modified", 400: "Bad Request", 404: "Not Found"}


class WorldServer:
    """Serve a :class:`World` (both generations pre-built) in this process.

    A small HTTP/1.1 server on asyncio (keep-alive, Content-Length, conditional GET). The
    server shares the benchmark machine's two cores with the measured processes, a cost that
    a real site far away does not put on the reader's machine: so each article page is built
    on its first request and kept (building one costs about 0.5 ms), and a request costs a
    little less than in the stdlib's threaded server (0.29 against 0.35 s of CPU for 1,000
    feeds).
    """

    def __init__(self, n_feeds: int, port: int = 0, generations: int = 2) -> None:
        self.gen = 0
        self.stats: Counter[str] = Counter()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        # A deep backlog: with the default of 5, 16 simultaneous connects overflow it and
        # the dropped SYNs are retried after 1 s.
        self._sock.listen(256)
        self.port = self._sock.getsockname()[1]
        self.world = World(n_feeds, f"http://127.0.0.1:{self.port}")
        self.feeds: dict[tuple[int, int], tuple[bytes, str]] = {
            (f, g): self.world.feed_bytes(f, g) for g in range(generations) for f in range(n_feeds)
        }
        self.pages: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def _response(
        status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> bytes:
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}",
            f"Content-Type: {ctype}",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + body if status != 304 else head

    def handle(self, target: str, headers: dict[str, str]) -> bytes:
        """One GET: the whole response (head and body)."""
        path, _, query = target.partition("?")
        parts = path.strip("/").split("/")
        if parts[0] == "_control":
            if parts[1:2] == ["gen"]:
                self.gen = int(parts[2])
            out = dict(self.stats, gen=self.gen)
            if "reset=1" in query:
                self.stats.clear()
            return self._response(200, json.dumps(out).encode(), "application/json")
        if parts[0] == "feeds" and len(parts) == 2:
            feed = int(parts[1].split(".")[0])
            gen = self.gen
            found = self.feeds.get((feed, gen))
            if found is None:
                self.stats["404"] += 1
                return self._response(404, b"not found", "text/plain")
            etag, lm = self.world.etag(feed, gen), self.world.last_modified(gen)
            inm, ims = headers.get("if-none-match"), headers.get("if-modified-since")
            validators = {"ETag": etag, "Last-Modified": lm}
            if (inm is not None and inm == etag) or (inm is None and ims == lm):
                self.stats["feed304"] += 1
                return self._response(304, b"", found[1], validators)
            self.stats["feed200"] += 1
            return self._response(200, found[0], found[1], validators)
        if parts[0] == "a" and len(parts) >= 3:
            self.stats["page200"] += 1
            key = (int(parts[1]), int(parts[2]))
            page = self.pages.get(key)
            if page is None:
                page = self.pages[key] = self._response(
                    200, self.world.page_bytes(*key), "text/html; charset=utf-8"
                )
            return page
        self.stats["404"] += 1
        return self._response(404, b"not found", "text/plain")

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:  # else keep-alive clients stall ~40 ms (FACTS.md)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _version = (request_line.split(" ") + ["", ""])[:3]
                headers = {}
                for line in header_lines:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                if method != "GET":
                    writer.write(self._response(400, b"GET only", "text/plain"))
                else:
                    writer.write(self.handle(target, headers))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, OSError):
            return
        finally:
            writer.close()

    async def _serve(self) -> None:
        server = await asyncio.start_server(self._connection, sock=self._sock, limit=1 << 16)
        async with server:
            await server.serve_forever()

    def serve_forever(self) -> None:
        asyncio.run(self._serve())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve a world; prints PORT <n> when ready")
    s.add_argument("--feeds", type=int, required=True)
    s.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    server = WorldServer(args.feeds, args.port)
    sys.stdout.write(f"PORT {server.port}\n")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
