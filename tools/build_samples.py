#!/usr/bin/env python3
"""Build the bundled offline sample articles.

Reads every ``tools/samples/stories_*.json`` (schema: ``tools/samples/SCHEMA.md``), validates
the stories and (re)writes the generated contents of ``sample_articles/``: one HTML page per
story (each invented site has its own template), one feed per site, an OPML subscription list,
golden extraction results, topic/event labels and a manifest.

Standard library only; the output is deterministic. Run: ``python tools/build_samples.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC_DIR = ROOT / "tools" / "samples"
OUT_DIR = ROOT / "sample_articles"

# Everything below OUT_DIR that this script owns (deleted and rewritten on each run).
GENERATED_DIRS = ("pages", "feeds", "golden")
GENERATED_FILES = ("subscriptions.opml", "labels.json", "manifest.json", "README.md")

SITES: dict[str, dict] = {
    "harbour-herald": {
        "name": "The Harbour Herald",
        "domain": "www.harbour-herald.example",
        "ext": "xml",
        "format": "rss",
        "mime": "application/rss+xml",
        "description": "News from the harbour towns and the coast, since 1884.",
    },
    "northline": {
        "name": "Northline",
        "domain": "northline.example",
        "ext": "atom",
        "format": "atom",
        "mime": "application/atom+xml",
        "description": "Independent reporting from the northern valleys.",
    },
    "civic-ledger": {
        "name": "The Civic Ledger",
        "domain": "civic-ledger.example",
        "ext": "json",
        "format": "jsonfeed",
        "mime": "application/feed+json",
        "description": "Councils, budgets and the public realm, explained.",
    },
    "valley-courier": {
        "name": "Valley Courier",
        "domain": "www.valley-courier.example",
        "ext": "rss",
        "format": "rss",
        "mime": "application/rss+xml",
        "description": "Your local paper for the river valley.",
    },
}
TOPICS = ("transport", "climate", "technology", "health", "sport", "arts")
SECTIONS = ("Transport", "Climate", "Technology", "Health", "Sport", "Arts")
MIN_WORDS = 400
MAX_WORDS = 1200
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EM_RE = re.compile(r"\*([^*\n]+)\*")

COMMENT_POOL = [
    ("harbourwatcher", "Long overdue, frankly. We have been asking about this for years."),
    (
        "J. Amberley",
        "Good reporting, but I would like to know who is actually paying for all of it.",
    ),
    ("quietreader42", "Same story every winter. Nothing changes until something goes wrong."),
    (
        "Ferdinand Oakes",
        "My neighbour went to the consultation evening and said it was standing room only.",
    ),
    ("lowtide", "Does anyone know whether the council minutes are published online yet?"),
    ("P. Marchetti", "Cautiously optimistic. Let us see what it looks like in a year."),
    (
        "northbank_nell",
        "I would have liked more detail on the timetable, but thanks for covering it.",
    ),
    ("Gwen T.", "This affects my family directly and nobody has written to us at all."),
    ("oldmillroad", "Interesting that the opposition councillors were so quiet about it."),
    ("Samir Haddad", "Sensible decision. Not everything has to be a fight."),
    (
        "drystonewaller",
        "Pity the article does not mention what happened last time they tried this.",
    ),
    ("Beatrix L.", "Shared this with our residents' group, thank you."),
]

COMMENT_TIMES = ["2 hours ago", "5 hours ago", "yesterday", "3 days ago"]


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------


def plain(text: str) -> str:
    """Source text with *emphasis* markers removed."""
    return EM_RE.sub(r"\1", text)


def rich(text: str) -> str:
    """HTML-escaped source text with *emphasis* rendered as <em>."""
    return EM_RE.sub(r"<em>\1</em>", escape(text, quote=False))


def body_texts(story: dict) -> list[str]:
    out: list[str] = []
    for block in story["body"]:
        if "ul" in block:
            out.extend(plain(item) for item in block["ul"])
        else:
            ((_, value),) = block.items()
            out.append(plain(value))
    return out


def word_count(story: dict) -> int:
    return sum(len(t.split()) for t in body_texts(story))


def parse_date(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def load_stories() -> tuple[list[dict], list[str]]:
    errors: list[str] = []
    stories: list[dict] = []
    files = sorted(SRC_DIR.glob("stories_*.json"))
    if not files:
        errors.append(f"no stories_*.json files in {SRC_DIR}")
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            errors.append(f"{path.name}: cannot read: {exc}")
            continue
        if not isinstance(data, list):
            errors.append(f"{path.name}: top level must be a list")
            continue
        for i, story in enumerate(data):
            if not isinstance(story, dict):
                errors.append(f"{path.name}[{i}]: not an object")
                continue
            story = dict(story)
            story["_file"] = path.name
            stories.append(story)

    required = (
        "slug",
        "site",
        "section",
        "topic",
        "title",
        "author",
        "published",
        "summary",
        "body",
        "related",
    )
    seen: dict[str, str] = {}
    for s in stories:
        where = f"{s['_file']}:{s.get('slug', '?')}"
        missing = [k for k in required if k not in s]
        if missing:
            errors.append(f"{where}: missing keys {missing}")
            continue
        if "event" not in s:
            s["event"] = None
        if not SLUG_RE.match(s["slug"]):
            errors.append(f"{where}: bad slug")
        if s["slug"] in seen:
            errors.append(f"{where}: duplicate slug (also in {seen[s['slug']]})")
        seen[s["slug"]] = s["_file"]
        if s["site"] not in SITES:
            errors.append(f"{where}: unknown site {s['site']!r}")
        if s["topic"] not in TOPICS:
            errors.append(f"{where}: unknown topic {s['topic']!r}")
        try:
            parse_date(s["published"])
        except (TypeError, ValueError):
            errors.append(f"{where}: bad published date {s['published']!r}")
        if not isinstance(s["body"], list) or not s["body"]:
            errors.append(f"{where}: body must be a non-empty list")
            continue
        for j, block in enumerate(s["body"]):
            ok = isinstance(block, dict) and len(block) == 1
            if ok:
                ((kind, value),) = block.items()
                if kind in ("p", "h2", "quote"):
                    ok = isinstance(value, str) and value.strip() != ""
                elif kind == "ul":
                    ok = (
                        isinstance(value, list)
                        and bool(value)
                        and all(isinstance(v, str) and v.strip() for v in value)
                    )
                else:
                    ok = False
            if not ok:
                errors.append(f"{where}: bad body block #{j}: {block!r}")
        words = word_count(s)
        if words < MIN_WORDS:
            errors.append(f"{where}: body has {words} words (< {MIN_WORDS})")
        elif words > MAX_WORDS:
            errors.append(f"{where}: body has {words} words (> {MAX_WORDS})")

    for s in stories:
        if "related" not in s or "slug" not in s:
            continue
        where = f"{s['_file']}:{s['slug']}"
        rel = s["related"]
        if not isinstance(rel, list) or not 2 <= len(rel) <= 4:
            errors.append(f"{where}: related must list 2-4 slugs")
            continue
        for r in rel:
            if r == s["slug"]:
                errors.append(f"{where}: related lists itself")
            elif r not in seen:
                errors.append(f"{where}: related slug {r!r} does not exist")
        if len(set(rel)) != len(rel):
            errors.append(f"{where}: related has duplicates")
    return stories, errors


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def site_url(site: str) -> str:
    return f"https://{SITES[site]['domain']}/"


def feed_url(site: str) -> str:
    return f"https://{SITES[site]['domain']}/feed.{SITES[site]['ext']}"


def story_url(s: dict) -> str:
    d = parse_date(s["published"])
    return f"https://{SITES[s['site']]['domain']}/{d:%Y}/{d:%m}/{s['slug']}"


def iso_utc(s: dict) -> str:
    return parse_date(s["published"]).isoformat()


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def attr(text: str) -> str:
    return escape(text, quote=True)


def body_html(s: dict, indent: str = "") -> str:
    parts = []
    for block in s["body"]:
        ((kind, value),) = block.items()
        if kind == "p":
            parts.append(f"<p>{rich(value)}</p>")
        elif kind == "h2":
            parts.append(f"<h2>{rich(value)}</h2>")
        elif kind == "quote":
            parts.append(f"<blockquote><p>{rich(value)}</p></blockquote>")
        elif kind == "ul":
            items = "".join(f"<li>{rich(v)}</li>" for v in value)
            parts.append(f"<ul>{items}</ul>")
    return "\n".join(indent + p for p in parts)


def tags_for(s: dict) -> list[tuple[str, str]]:
    tags = [(s["section"], slugify(s["section"]))]
    if s["topic"] != slugify(s["section"]):
        tags.append((s["topic"].title(), s["topic"]))
    if s.get("event"):
        tags.append((s["event"].replace("-", " ").capitalize(), s["event"]))
    return tags


def pick_comments(s: dict) -> list[tuple[str, str, str]]:
    h = int(hashlib.sha256(s["slug"].encode()).hexdigest(), 16)
    n = 2 + h % 3
    start = (h // 7) % len(COMMENT_POOL)
    out = []
    for i in range(n):
        name, text = COMMENT_POOL[(start + i * 5) % len(COMMENT_POOL)]
        out.append((name, text, COMMENT_TIMES[i % len(COMMENT_TIMES)]))
    return out


def share_links(s: dict) -> list[tuple[str, str]]:
    from urllib.parse import quote

    u = quote(story_url(s), safe="")
    t = quote(s["title"], safe="")
    return [
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={u}"),
        ("X", f"https://twitter.com/intent/tweet?url={u}&text={t}"),
        ("LinkedIn", f"https://www.linkedin.com/sharing/share-offsite/?url={u}"),
        ("Email", f"mailto:?subject={t}&body={u}"),
    ]


def head_html(s: dict, stories: dict[str, dict], extra: str = "", title_sep: str = " | ") -> str:
    site = SITES[s["site"]]
    url = story_url(s)
    image = f"https://{site['domain']}/media/{s['slug']}.jpg"
    tags = "\n".join(f'<meta property="article:tag" content="{attr(t)}">' for t, _ in tags_for(s))
    return f"""<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(s["title"])}{title_sep}{escape(site["name"])}</title>
<meta name="description" content="{attr(plain(s["summary"]))}">
<meta name="author" content="{attr(s["author"])}">
<link rel="canonical" href="{attr(url)}">
<link rel="alternate" type="{site["mime"]}" title="{attr(site["name"])}" href="{attr(feed_url(s["site"]))}">
<meta property="og:title" content="{attr(s["title"])}">
<meta property="og:site_name" content="{attr(site["name"])}">
<meta property="og:type" content="article">
<meta property="og:url" content="{attr(url)}">
<meta property="og:image" content="{attr(image)}">
<meta property="og:description" content="{attr(plain(s["summary"]))}">
<meta property="article:published_time" content="{iso_utc(s)}">
<meta property="article:section" content="{attr(s["section"])}">
{tags}
<link rel="stylesheet" href="/static/{s["site"]}.css">{extra}"""


def json_ld(s: dict) -> str:
    site = SITES[s["site"]]
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": s["title"],
        "datePublished": iso_utc(s),
        "author": {"@type": "Person", "name": s["author"]},
        "publisher": {"@type": "Organization", "name": site["name"]},
        "mainEntityOfPage": story_url(s),
        "articleSection": s["section"],
    }
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'\n<script type="application/ld+json">{payload}</script>'


def section_links(prefix: str) -> list[tuple[str, str]]:
    return [(name, f"{prefix}{slugify(name)}") for name in SECTIONS]


# --------------------------------------------------------------------------------------------
# Site templates
# --------------------------------------------------------------------------------------------


def page_harbour_herald(s: dict, stories: dict[str, dict]) -> str:
    d = parse_date(s["published"])
    nav = "".join(f'<li><a href="{h}">{n}</a></li>' for n, h in section_links("/"))
    share = "".join(
        f'<li><a class="share-{slugify(n)}" href="{attr(h)}" rel="nofollow">{n}</a></li>'
        for n, h in share_links(s)
    )
    tags = "".join(f'<li><a href="/tag/{t}">{escape(n)}</a></li>' for n, t in tags_for(s))
    related = "".join(
        f'<li><a href="{attr(story_url(stories[r]))}">{escape(stories[r]["title"])}</a></li>'
        for r in s["related"]
    )
    comments = "\n".join(
        f'<li class="comment"><p class="comment-meta"><span class="comment-author">{escape(n)}</span> '
        f'<span class="comment-time">{t}</span></p><p class="comment-text">{escape(c)}</p></li>'
        for n, c, t in pick_comments(s)
    )
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
{head_html(s, stories, json_ld(s))}
</head>
<body class="hh-article">
<div id="cookie-consent" class="cookie-banner" role="dialog" aria-label="Cookie consent">
<p>We use cookies to personalise content and to analyse our traffic. You can change your choices at any time.</p>
<button type="button">Accept all</button> <button type="button">Manage preferences</button>
</div>
<div class="app-promo"><p>Get The Harbour Herald app for breaking news alerts.</p><a href="/app">Download the app</a></div>
<header class="masthead">
<a class="logo" href="/">The Harbour Herald</a>
<nav class="primary-nav" aria-label="Sections"><ul><li><a href="/">Home</a></li>{nav}</ul></nav>
<div class="account-links"><a href="/login">Log in</a> <a class="subscribe" href="/subscribe">Subscribe</a></div>
</header>
<main id="main-content">
<nav class="breadcrumbs" aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li><li><a href="/{slugify(s["section"])}">{escape(s["section"])}</a></li></ol></nav>
<article class="article">
<header class="article-header">
<p class="kicker"><a href="/{slugify(s["section"])}">{escape(s["section"])}</a></p>
<h1 class="headline">{escape(s["title"])}</h1>
<p class="byline">By <a rel="author" href="/profile/{slugify(s["author"])}">{escape(s["author"])}</a></p>
<p class="dateline"><time datetime="{iso_utc(s)}">{d.day} {d:%B %Y}, {d:%H:%M} UTC</time></p>
</header>
<div class="share-tools"><ul>{share}</ul></div>
<div class="article-body">
{body_html(s)}
</div>
<footer class="article-tags"><ul class="tags">{tags}</ul></footer>
</article>
<aside class="related">
<h2>Related stories</h2>
<ul>{related}</ul>
</aside>
<section id="comments" class="comments">
<h2>Comments</h2>
<ol class="comment-list">
{comments}
</ol>
</section>
<div class="newsletter-signup">
<h2>The Morning Tide newsletter</h2>
<p>The day's harbour news in your inbox before breakfast.</p>
<form action="/newsletter" method="post"><input type="email" name="email" placeholder="Your email"><button type="submit">Sign up</button></form>
</div>
</main>
<footer class="site-footer">
<ul><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li><li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms</a></li></ul>
<p class="copyright">&copy; 2026 The Harbour Herald Ltd. All rights reserved.</p>
</footer>
</body>
</html>
"""


def page_northline(s: dict, stories: dict[str, dict]) -> str:
    d = parse_date(s["published"])
    nav = " ".join(
        f'<a class="nl-nav-link" href="{h}">{n}</a>' for n, h in section_links("/section/")
    )
    share = " ".join(
        f'<a class="nl-share" href="{attr(h)}" target="_blank">Share on {n}</a>'
        for n, h in share_links(s)
    )
    tags = ", ".join(f'<a href="/tag/{t}">{escape(n)}</a>' for n, t in tags_for(s))
    related = "\n".join(
        f'<li class="rn-item"><a class="rn-link" href="{attr(story_url(stories[r]))}">{escape(stories[r]["title"])}</a> '
        f'<span class="rn-source">{escape(SITES[stories[r]["site"]]["name"])}</span> '
        f'<span class="rn-time">{parse_date(stories[r]["published"]):%b} {parse_date(stories[r]["published"]).day}</span></li>'
        for r in s["related"]
    )
    comments = "\n".join(
        f'<div class="nl-comment"><div class="nl-comment-head"><strong>{escape(n)}</strong> &middot; {t}</div>'
        f'<div class="nl-comment-body">{escape(c)}</div></div>'
        for n, c, t in pick_comments(s)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
{head_html(s, stories, title_sep=" - ")}
</head>
<body>
<div class="nl-consent" id="consent-banner" role="dialog">
<span>Northline uses cookies to keep you signed in and to measure readership.</span>
<a href="/privacy#cookies">Learn more</a> <button type="button" class="nl-consent-ok">OK</button>
</div>
<div class="nl-appbar">Read Northline in the app: faster, offline, no clutter. <a href="/get-the-app">Get the app</a></div>
<div class="nl-top">
<div class="nl-brand"><a href="/">NORTHLINE</a></div>
<div class="nl-nav"><a class="nl-nav-link" href="/">Home</a> {nav}</div>
<div class="nl-user"><a href="/account/login">Sign in</a> <a class="nl-btn" href="/subscribe">Subscribe</a></div>
</div>
<div class="nl-page">
<div class="nl-crumbs"><a href="/">Northline</a> &rsaquo; <a href="/section/{slugify(s["section"])}">{escape(s["section"])}</a></div>
<div class="story-header">
<h1 class="story-title">{escape(s["title"])}</h1>
<div class="story-meta"><span class="author-name">By {escape(s["author"])}</span> &middot; <time class="story-date" datetime="{iso_utc(s)}">{d:%b} {d.day}, {d:%Y}</time></div>
</div>
<div class="story-body">
{body_html(s)}
</div>
<div class="story-share">{share}</div>
<div class="story-tags">Topics: {tags}</div>
<section id="more-on-this">
<h2>Read next</h2>
<ul>
{related}
</ul>
</section>
<div id="comments" class="nl-comments">
<h3>Reader comments</h3>
{comments}
</div>
<div class="nl-newsletter">
<h3>Get the Northline weekly</h3>
<form action="/newsletter/subscribe" method="post"><label>Email <input type="email" name="email"></label> <button type="submit">Subscribe</button></form>
</div>
</div>
<div class="nl-footer">
<a href="/about">About Northline</a> | <a href="/contact">Contact</a> | <a href="/privacy">Privacy</a> | <a href="/jobs">Jobs</a>
<div class="nl-copy">Copyright &copy; 2026 Northline Media Cooperative</div>
</div>
</body>
</html>
"""


def page_civic_ledger(s: dict, stories: dict[str, dict]) -> str:
    d = parse_date(s["published"])
    nav = "".join(
        f'<li class="menu-item"><a href="{h}/">{n}</a></li>' for n, h in section_links("/category/")
    )
    share = "".join(
        f'<a class="share-button share-button--{slugify(n)}" href="{attr(h)}">{n}</a>'
        for n, h in share_links(s)
    )
    tags = "".join(f'<a href="/tag/{t}/" rel="tag">{escape(n)}</a>' for n, t in tags_for(s))
    related = "\n".join(
        f'<li><a href="{attr(story_url(stories[r]))}">{escape(stories[r]["title"])}</a>'
        f'<span class="recirc-meta">{escape(SITES[stories[r]["site"]]["name"])} &middot; '
        f"{parse_date(stories[r]['published']).day} {parse_date(stories[r]['published']):%b %Y}</span></li>"
        for r in s["related"]
    )
    comments = "\n".join(
        f'<li class="comment-item"><article class="comment-body"><footer class="comment-meta"><b class="fn">{escape(n)}</b> '
        f'<span class="says">says:</span> <span class="comment-date">{t}</span></footer>'
        f'<div class="comment-content"><p>{escape(c)}</p></div></article></li>'
        for n, c, t in pick_comments(s)
    )
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
{head_html(s, stories, json_ld(s), title_sep=" &#8211; ")}
</head>
<body class="single single-post">
<div class="gdpr-cookie-notice" role="region" aria-label="Cookies">
<p>This website uses cookies. By continuing to browse you agree to our use of cookies.</p>
<a class="button" href="#accept">I agree</a>
</div>
<div class="smart-app-banner"><strong>The Civic Ledger</strong> Open in our app <a href="/app/">Install</a></div>
<div id="page" class="site">
<header id="masthead" class="site-header">
<p class="site-title"><a href="/" rel="home">The Civic Ledger</a></p>
<p class="site-description">{escape(SITES["civic-ledger"]["description"])}</p>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu"><li class="menu-item"><a href="/">Home</a></li>{nav}<li class="menu-item"><a href="/wp-login.php">Login</a></li><li class="menu-item menu-item-subscribe"><a href="/subscribe/">Subscribe</a></li></ul></nav>
</header>
<div id="content" class="site-content">
<div class="crumbs" aria-label="breadcrumbs"><a href="/">Home</a> / <a href="/category/{slugify(s["section"])}/">{escape(s["section"])}</a> / <span>{escape(s["title"])}</span></div>
<div id="primary" class="content-area">
<div class="post type-post status-publish">
<div class="entry-header">
<span class="cat-links"><a href="/category/{slugify(s["section"])}/" rel="category tag">{escape(s["section"])}</a></span>
<h1 class="entry-title">{escape(s["title"])}</h1>
<div class="entry-meta"><span class="byline">By <span class="author vcard"><a class="url fn n" href="/author/{slugify(s["author"])}/">{escape(s["author"])}</a></span></span> <span class="posted-on">Published <time class="entry-date published" datetime="{iso_utc(s)}">{d:%B} {d.day}, {d:%Y}</time></span></div>
</div>
<div class="entry-content">
{body_html(s)}
</div>
<div class="entry-footer"><span class="tags-links">Tagged {tags}</span></div>
<div class="sharedaddy"><h3 class="sd-title">Share this:</h3>{share}</div>
</div>
<div class="recirc">
<h3>More on this</h3>
<ul>
{related}
</ul>
</div>
<div id="comments" class="comments-area">
<h2 class="comments-title">What readers are saying</h2>
<ol class="comment-list">
{comments}
</ol>
</div>
</div>
<div id="secondary" class="widget-area">
<section class="widget widget-newsletter"><h2 class="widget-title">Ledger Briefing</h2><p>Council decisions, decoded, every Friday.</p><form action="/newsletter/" method="post"><input type="email" name="ne" placeholder="Email address"><input type="submit" value="Sign up"></form></section>
</div>
</div>
<footer id="colophon" class="site-footer"><div class="site-info"><a href="/about/">About</a> &middot; <a href="/contact/">Contact</a> &middot; <a href="/privacy-policy/">Privacy Policy</a> &middot; &copy; 2026 The Civic Ledger</div></footer>
</div>
</body>
</html>
"""


def page_valley_courier(s: dict, stories: dict[str, dict]) -> str:
    d = parse_date(s["published"])
    nav = "".join(
        f'<li class="nav__item"><a class="nav__link" href="{h}">{n}</a></li>'
        for n, h in section_links("/news/")
    )
    share = "".join(
        f'<li><a class="social__link" href="{attr(h)}" aria-label="Share via {n}">{n}</a></li>'
        for n, h in share_links(s)
    )
    tags = "".join(
        f'<li><a class="tag-pill" href="/tag/{t}">{escape(n)}</a></li>' for n, t in tags_for(s)
    )
    related = "\n".join(
        f'<li class="also-read__item"><a href="{attr(story_url(stories[r]))}">{escape(stories[r]["title"])}</a></li>'
        for r in s["related"]
    )
    comments = "\n".join(
        f'<div class="reader-comment"><p class="reader-comment__name">{escape(n)} <small>{t}</small></p>'
        f'<p class="reader-comment__text">{escape(c)}</p></div>'
        for n, c, t in pick_comments(s)
    )
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
{head_html(s, stories)}
</head>
<body class="page page--article">
<div class="consent-bar" data-component="cookie-consent">
<p class="consent-bar__text">We and our partners use cookies. Manage your settings or accept to continue.</p>
<button class="consent-bar__accept">Accept</button><button class="consent-bar__settings">Settings</button>
</div>
<div class="app-banner"><p>Stay up to date with the Valley Courier app.</p><a class="app-banner__cta" href="/apps">Get our app</a></div>
<header class="header">
<div class="header__brand"><a href="/"><span class="header__logo">Valley Courier</span></a></div>
<nav class="nav"><ul class="nav__list"><li class="nav__item"><a class="nav__link" href="/">Home</a></li>{nav}</ul></nav>
<div class="header__actions"><a href="/login" class="header__login">Log in</a><a href="/subscribe" class="header__subscribe">Subscribe from 1 a week</a></div>
</header>
<div class="layout">
<ol class="breadcrumb"><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/news/{slugify(s["section"])}">{escape(s["section"])}</a></li></ol>
<article class="article-page">
<h1 class="article-page__title">{escape(s["title"])}</h1>
<div class="article-page__info">
<span class="article-page__author">By {escape(s["author"])}</span>
<span class="article-page__date"><time datetime="{iso_utc(s)}">{d.day:02d}/{d.month:02d}/{d:%Y} {d:%H:%M}</time></span>
</div>
<section class="article__body">
{body_html(s)}
</section>
<ul class="article-page__tags">{tags}</ul>
</article>
<ul class="social">{share}</ul>
<div class="also-read">
<h4>Also in the news</h4>
<ol>
{related}
</ol>
</div>
<section class="comments" id="reader-comments">
<h4>Have your say</h4>
{comments}
</section>
<div class="signup-box newsletter">
<h4>Courier Daily</h4><p>Get the headlines from the valley every morning.</p>
<form action="/newsletters" method="post"><input type="email" name="email" aria-label="Email"><button>Sign me up</button></form>
</div>
</div>
<footer class="footer">
<ul class="footer__links"><li><a href="/about-us">About us</a></li><li><a href="/contact-us">Contact us</a></li><li><a href="/privacy-notice">Privacy notice</a></li><li><a href="/advertise">Advertise</a></li></ul>
<p class="footer__legal">&copy; Valley Courier Newspapers 2026</p>
</footer>
</body>
</html>
"""


TEMPLATES = {
    "harbour-herald": page_harbour_herald,
    "northline": page_northline,
    "civic-ledger": page_civic_ledger,
    "valley-courier": page_valley_courier,
}


# --------------------------------------------------------------------------------------------
# Feeds
# --------------------------------------------------------------------------------------------


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def rss_feed(site: str, items: list[dict], full_content: bool) -> str:
    info = SITES[site]
    last = format_datetime(parse_date(items[0]["published"]), usegmt=True) if items else ""
    ns = ' xmlns:content="http://purl.org/rss/1.0/modules/content/"' if full_content else ""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<rss version="2.0"{ns} xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>{escape(info['name'])}</title>",
        f"<link>{site_url(site)}</link>",
        f"<description>{escape(info['description'])}</description>",
        "<language>en-gb</language>",
        f"<lastBuildDate>{last}</lastBuildDate>",
        f'<atom:link href="{feed_url(site)}" rel="self" type="application/rss+xml"/>',
    ]
    for s in items:
        out.append("<item>")
        out.append(f"<title>{escape(s['title'])}</title>")
        out.append(f"<link>{escape(story_url(s))}</link>")
        if full_content:
            out.append(f'<guid isPermaLink="false">{site}:{s["slug"]}</guid>')
        else:
            out.append(f'<guid isPermaLink="true">{escape(story_url(s))}</guid>')
        out.append(f"<pubDate>{format_datetime(parse_date(s['published']), usegmt=True)}</pubDate>")
        out.append(f"<dc:creator>{escape(s['author'])}</dc:creator>")
        out.append(f"<category>{escape(s['section'])}</category>")
        out.append(f"<description>{escape(plain(s['summary']))}</description>")
        if full_content:
            out.append(f"<content:encoded>{cdata(body_html(s))}</content:encoded>")
        out.append("</item>")
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def atom_feed(site: str, items: list[dict]) -> str:
    info = SITES[site]
    updated = iso_utc(items[0]) if items else "2026-01-01T00:00:00+00:00"
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(info['name'])}</title>",
        f"<subtitle>{escape(info['description'])}</subtitle>",
        f"<id>tag:{info['domain']},2026:feed</id>",
        f"<updated>{updated}</updated>",
        f'<link rel="self" type="application/atom+xml" href="{feed_url(site)}"/>',
        f'<link rel="alternate" type="text/html" href="{site_url(site)}"/>',
    ]
    for s in items:
        out += [
            "<entry>",
            f"<title>{escape(s['title'])}</title>",
            f'<link rel="alternate" type="text/html" href="{escape(story_url(s))}"/>',
            f"<id>tag:{info['domain']},2026:{s['slug']}</id>",
            f"<published>{iso_utc(s)}</published>",
            f"<updated>{iso_utc(s)}</updated>",
            f"<author><name>{escape(s['author'])}</name></author>",
            f'<category term="{attr(s["section"])}"/>',
            f"<summary>{escape(plain(s['summary']))}</summary>",
            "</entry>",
        ]
    out += ["</feed>", ""]
    return "\n".join(out)


def json_feed(site: str, items: list[dict]) -> str:
    info = SITES[site]
    data = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": info["name"],
        "home_page_url": site_url(site),
        "feed_url": feed_url(site),
        "description": info["description"],
        "language": "en-US",
        "items": [
            {
                "id": story_url(s),
                "url": story_url(s),
                "title": s["title"],
                "summary": plain(s["summary"]),
                "content_html": f"<p>{escape(plain(s['summary']), quote=False)}</p>",
                "date_published": iso_utc(s),
                "authors": [{"name": s["author"]}],
                "tags": [n for n, _ in tags_for(s)],
            }
            for s in items
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


README = """# Sample articles (offline demo and test fixtures)

Everything in this folder except `__init__.py` is generated by `tools/build_samples.py` from
the story sources in `tools/samples/stories_*.json`. The sites, towns, companies, people and
stories are our own invented writing; they are not copied from any real publication. The
`.example` domains do not exist.

- `pages/<site>/<slug>.html`: one article page per story; each of the four sites has its own
  page template (navigation, cookie and app banners, share buttons, related box, comments,
  newsletter box, footer).
- `feeds/`: one feed per site (RSS 2.0 with full content, Atom 1.0, JSON Feed 1.1, RSS 2.0
  with descriptions only); `subscriptions.opml` lists them.
- `golden/<slug>.json`: the expected extraction result for each page.
- `labels.json`: topic and event labels (for related-story and near-duplicate tests).
- `manifest.json`: URL to file mapping, to load the offline demo or serve the files locally.

Rebuild (do not edit the generated files by hand):

    python tools/build_samples.py
"""


def main() -> int:
    stories, errors = load_stories()
    if errors:
        print("Errors:", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        print(f"{len(errors)} error(s); nothing written.", file=sys.stderr)
        return 1

    stories.sort(key=lambda s: s["slug"])
    by_slug = {s["slug"]: s for s in stories}

    # Clear only what this script generates.
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in GENERATED_DIRS:
        p = OUT_DIR / name
        if p.is_dir():
            shutil.rmtree(p)
    for name in GENERATED_FILES:
        p = OUT_DIR / name
        if p.is_file():
            p.unlink()
    init = OUT_DIR / "__init__.py"
    if not init.exists():
        write(
            init, '"""Bundled offline sample articles (generated by tools/build_samples.py)."""\n'
        )

    manifest_pages = []
    for s in stories:
        rel = f"pages/{s['site']}/{s['slug']}.html"
        write(OUT_DIR / rel, TEMPLATES[s["site"]](s, by_slug))
        manifest_pages.append({"url": story_url(s), "file": rel, "slug": s["slug"]})
        golden = {
            "url": story_url(s),
            "site": s["site"],
            "title": s["title"],
            "author": s["author"],
            "published": iso_utc(s),
            "site_name": SITES[s["site"]]["name"],
            "text": "\n\n".join(body_texts(s)),
            "related_links": [
                {"url": story_url(by_slug[r]), "title": by_slug[r]["title"]} for r in s["related"]
            ],
        }
        write(OUT_DIR / "golden" / f"{s['slug']}.json", dump(golden))

    manifest_feeds = []
    for site, info in SITES.items():
        items = sorted(
            (s for s in stories if s["site"] == site),
            key=lambda s: (parse_date(s["published"]), s["slug"]),
            reverse=True,
        )
        if info["format"] == "atom":
            text = atom_feed(site, items)
        elif info["format"] == "jsonfeed":
            text = json_feed(site, items)
        else:
            text = rss_feed(site, items, full_content=(site == "harbour-herald"))
        rel = f"feeds/{site}.{info['ext']}"
        write(OUT_DIR / rel, text)
        manifest_feeds.append(
            {
                "url": feed_url(site),
                "file": rel,
                "format": info["format"],
                "site": site,
                "title": info["name"],
            }
        )

    newest = max(
        (parse_date(s["published"]) for s in stories), default=datetime(2026, 1, 1, tzinfo=UTC)
    )
    outlines = "\n".join(
        f'    <outline type="rss" text="{attr(SITES[f["site"]]["name"])}" title="{attr(SITES[f["site"]]["name"])}" '
        f'xmlUrl="{attr(f["url"])}" htmlUrl="{attr(site_url(f["site"]))}"/>'
        for f in manifest_feeds
    )
    write(
        OUT_DIR / "subscriptions.opml",
        f"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head>
    <title>tuinews sample subscriptions</title>
    <dateCreated>{format_datetime(newest, usegmt=True)}</dateCreated>
  </head>
  <body>
{outlines}
  </body>
</opml>
""",
    )

    events: dict[str, list[str]] = {}
    topics: dict[str, list[str]] = {}
    for s in stories:
        if s["event"]:
            events.setdefault(s["event"], []).append(s["slug"])
        topics.setdefault(s["topic"], []).append(s["slug"])
    labels = {
        "stories": {
            s["slug"]: {
                "url": story_url(s),
                "site": s["site"],
                "topic": s["topic"],
                "event": s["event"],
            }
            for s in stories
        },
        "events": dict(sorted(events.items())),
        "topics": {t: topics[t] for t in TOPICS if t in topics},
    }
    write(OUT_DIR / "labels.json", dump(labels))
    write(
        OUT_DIR / "manifest.json",
        dump({"feeds": manifest_feeds, "opml": "subscriptions.opml", "pages": manifest_pages}),
    )
    write(OUT_DIR / "README.md", README)

    # Summary
    counts = [word_count(s) for s in stories]
    print(f"{len(stories)} stories from {len({s['_file'] for s in stories})} file(s) -> {OUT_DIR}")
    for t in TOPICS:
        if t in topics:
            sites = sorted({by_slug[x]["site"] for x in topics[t]})
            print(f"  topic {t:<11} {len(topics[t]):>2} stories, sites: {', '.join(sites)}")
    for site in SITES:
        print(f"  site  {site:<15} {sum(1 for s in stories if s['site'] == site):>2} stories")
    for e, slugs in sorted(events.items()):
        print(f"  event {e}: {', '.join(slugs)}")
    print(f"  body words: min {min(counts)}, max {max(counts)}")
    for t in TOPICS:
        if t in topics and len(topics[t]) < 6:
            print(f"  warning: topic {t} has only {len(topics[t])} stories")
    return 0


if __name__ == "__main__":
    sys.exit(main())
