"""Command line: ``tuinews`` starts the app; the sub-commands do the same jobs headless.

Exit codes: 0 success, 1 a command failed (a feed, a page, a file), 2 usage error, 3 the cache
cannot be used, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import __version__
from .config import Config, load_config
from .core.errors import StoreError, TuinewsError
from .core.text import clean_text

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_STORE, EXIT_INTERRUPT = 0, 1, 2, 3, 130

log = logging.getLogger("tuinews")


def _parser() -> argparse.ArgumentParser:
    from .config import default_dirs

    data_dir, config_file = default_dirs()
    p = argparse.ArgumentParser(
        prog="tuinews",
        description="A terminal news reader: full text, offline cache, related stories, "
        "Markdown export. Without a command, starts the reader.",
    )
    p.add_argument("--version", action="version", version=f"tuinews {__version__}")
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"where the cache and the log live (default: {data_dir}; $TUINEWS_HOME sets it)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help=f"config file (default: {config_file}, or DIR/config.toml with --data-dir)",
    )
    p.add_argument("--demo", action="store_true", help="load the bundled sample articles again")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser("add", help="subscribe to a feed (or a site that announces one)")
    a.add_argument("url")
    a.add_argument("--prefetch", action="store_true", help="fetch full text of new stories")

    r = sub.add_parser("remove", help="unsubscribe from a feed (id, URL or title)")
    r.add_argument("feed")

    pf = sub.add_parser("prefetch", help="turn full-text prefetch on or off for a feed")
    pf.add_argument("feed", help="id, URL or title")
    pf.add_argument("state", choices=["on", "off"])

    f = sub.add_parser("feeds", help="list subscriptions with unread counts and errors")
    f.add_argument("--json", action="store_true")

    rf = sub.add_parser("refresh", help="fetch feeds and store new stories")
    rf.add_argument("feeds", nargs="*", metavar="FEED", help="id, URL or title (default: all)")
    rf.add_argument("--prefetch", action="store_true", help="also fetch full text of new stories")
    rf.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")

    ls = sub.add_parser("list", help="list stories, newest first")
    ls.add_argument("--unread", action="store_true")
    ls.add_argument("--starred", action="store_true")
    ls.add_argument("--feed", metavar="F", help="id, URL or title")
    ls.add_argument("--search", metavar="Q", help="full-text search over the cache")
    ls.add_argument("--limit", type=int, default=50, metavar="N")
    ls.add_argument("--json", action="store_true")

    rd = sub.add_parser("read", help="print a story's article as Markdown (fetched if needed)")
    rd.add_argument("id")
    rd.add_argument("--offline", action="store_true", help="only what the cache holds")

    ex = sub.add_parser("export", help="export stories to Markdown files")
    ex.add_argument("ids", nargs="+", metavar="ID")
    ex.add_argument(
        "-o",
        "--output",
        metavar="FILE|DIR",
        help="file (one story) or directory (default: [export] dir in the config)",
    )
    ex.add_argument("--force", action="store_true", help="overwrite existing files")
    ex.add_argument("--offline", action="store_true", help="only what the cache holds")

    rel = sub.add_parser("related", help="stories related to a story")
    rel.add_argument("id")
    rel.add_argument("--json", action="store_true")

    io = sub.add_parser("import-opml", help="subscribe to the feeds of an OPML file")
    io.add_argument("file")
    eo = sub.add_parser("export-opml", help="write the subscriptions as OPML")
    eo.add_argument("file", nargs="?", help="default: standard output")
    return p


def _setup_logging(config: Config) -> None:
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(config.log_path, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # trafilatura and its helpers log a warning for every odd link on real pages.
    for noisy in ("trafilatura", "htmldate", "courlan", "charset_normalizer", "aiohttp"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _service(config: Config):  # type: ignore[no-untyped-def]
    from .core.fetch import FetchLimits
    from .core.service import Service

    limits = FetchLimits(
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        total_timeout=config.total_timeout,
        max_bytes=config.max_bytes,
        concurrency=config.concurrency,
    )
    return Service(
        config.db_path,
        limits=limits,
        extract_workers=config.extract_workers,
        extract_timeout=config.extract_timeout,
    )


def _age(story_published: object) -> str:
    from datetime import UTC, datetime

    if not isinstance(story_published, datetime):
        return ""
    return story_published.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _out(text: str, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(text + "\n")


def entry() -> None:
    """The ``tuinews`` console script and ``python -m tuinews``: :func:`main`, then, after a
    headless command, exit without the interpreter's teardown.

    By then the command has closed the cache, the network client and its workers; what is left
    is freeing every module (aiohttp's, sqlite's, the parsers'): 20-90 ms of a refresh that
    otherwise takes 0.15 s (bench/RESULTS.md). The app's exit keeps the normal path (its
    threads may still be finishing a write).
    """
    code = main()
    if _headless_command is None:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (| head): nothing left to tell
        pass
    logging.shutdown()
    os._exit(code)


_headless_command: str | None = None
"""The sub-command :func:`main` ran last (None: the app, or nothing)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app or one sub-command; returns the exit code."""
    global _headless_command
    args = _parser().parse_args(argv)
    _headless_command = args.command
    try:
        config = load_config(args.data_dir, args.config)
    except TuinewsError as exc:
        _out(f"tuinews: {exc}", sys.stderr)
        return EXIT_USAGE
    _setup_logging(config)
    try:
        if args.command is None:
            return _run_app(config, demo=args.demo)
        service = _service(config)
        try:
            if args.demo:
                service.load_samples()
            return int(_COMMANDS[args.command](service, args, config))
        finally:
            service.close()
    except StoreError as exc:
        _out(f"tuinews: {exc}", sys.stderr)
        return EXIT_STORE
    except TuinewsError as exc:
        _out(f"tuinews: {exc}", sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        _out("tuinews: interrupted", sys.stderr)
        return EXIT_INTERRUPT
    except BrokenPipeError:
        return EXIT_OK


def _run_app(config: Config, *, demo: bool) -> int:
    service = _service(config)
    try:
        from .ui.app import TuinewsApp

        if config.images:
            # textual-image asks the terminal what it can draw (kitty, sixel) and its cell
            # size when imported: that must happen before Textual takes the terminal.
            from .ui.widgets import article_images

            article_images.detect_terminal()

        first_run = service.needs_first_run()
        app = TuinewsApp(service, config, first_run=first_run, demo=demo)
        app.run()
        return int(app.return_code or 0)
    finally:
        service.close()


def cmd_add(service, args, config) -> int:  # type: ignore[no-untyped-def]
    feed, new = service.add_feed(args.url, prefetch=args.prefetch)
    _out(f"subscribed: {clean_text(feed.title)} <{feed.url}> (id {feed.id}, {new} stories)")
    return EXIT_OK


def cmd_remove(service, args, config) -> int:  # type: ignore[no-untyped-def]
    feed = service.find_feed(args.feed)
    service.remove_feed(feed.id)
    _out(f"removed: {clean_text(feed.title)} <{feed.url}>")
    return EXIT_OK


def cmd_prefetch(service, args, config) -> int:  # type: ignore[no-untyped-def]
    feed = service.find_feed(args.feed)
    service.store.set_feed_prefetch(feed.id, args.state == "on")
    _out(f"prefetch {args.state}: {clean_text(feed.title)} <{feed.url}>")
    return EXIT_OK


def cmd_feeds(service, args, config) -> int:  # type: ignore[no-untyped-def]
    feeds = service.store.feeds(with_totals=True)
    if args.json:
        _out(
            json.dumps(
                [
                    {
                        "id": f.id,
                        "title": clean_text(f.title),
                        "url": f.url,
                        "site_url": f.site_url,
                        "unread": f.unread,
                        "total": f.total,
                        "last_status": f.last_status,
                        "last_error": clean_text(f.last_error) or None,
                        "last_warning": clean_text(f.last_warning) or None,
                        "gone": f.gone,
                        "prefetch": f.prefetch,
                    }
                    for f in feeds
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    if not feeds:
        _out("no subscriptions: add one with `tuinews add URL` (or `tuinews --demo`)")
        return EXIT_OK
    width = max(12, min(40, max(len(clean_text(f.title)) for f in feeds)))
    _out(f"{'ID':>4}   {'UNREAD/TOTAL':<13} {'FEED':<{width}}  URL")
    for f in feeds:
        mark = "!" if f.last_error else " "
        counts = f"{f.unread}/{f.total}"
        # A longer title is printed whole (it pushes its URL right): never cut a name.
        _out(f"{f.id:>4} {mark} {counts:<13} {clean_text(f.title):<{width}}  {f.url}")
        if f.last_error:
            _out(f"{'':>7}error: {clean_text(f.last_error)}")
        elif f.last_warning:
            _out(f"{'':>7}warning: {clean_text(f.last_warning)}")
    failed = sum(1 for f in feeds if f.last_error)
    note = "UNREAD/TOTAL: unread stories / stories stored for the feed"
    if failed:
        note += "; ! the last refresh failed"
    _out(f"\n{note}.")
    return EXIT_OK


def cmd_refresh(service, args, config) -> int:  # type: ignore[no-untyped-def]
    ids = [service.find_feed(key).id for key in args.feeds] if args.feeds else None
    quiet = args.quiet

    def progress(done: int, total: int, result) -> None:  # type: ignore[no-untyped-def]
        if quiet:
            return
        what = {
            "new": f"{result.new} new",
            "unchanged": "unchanged",
            "failed": f"FAILED: {clean_text(result.error)}",
            "skipped": f"skipped: {clean_text(result.error)}",
        }[result.outcome]
        _out(f"[{done}/{total}] {clean_text(result.title)}: {what}", sys.stderr)

    def article_progress(done: int, total: int) -> None:
        if not quiet and (done == total or done % 10 == 0):
            _out(f"[articles {done}/{total}]", sys.stderr)

    summary = service.refresh(
        ids,
        prefetch=True if args.prefetch else (True if config.prefetch else None),
        progress=progress,
        article_progress=article_progress,
    )
    failed = summary.failed
    _out(
        f"{len(summary.results)} feeds: {summary.new_stories} new stories, "
        f"{summary.count('unchanged')} unchanged, {len(failed)} failed, "
        f"{summary.count('skipped')} skipped"
        + (
            f"; articles: {summary.articles_fetched} stored, {summary.articles_failed} failed"
            if summary.articles_fetched or summary.articles_failed
            else ""
        )
        + f" ({summary.seconds:.1f} s)"
    )
    for r in failed:
        _out(f"  failed: {clean_text(r.title)} <{r.url}>: {clean_text(r.error)}")
    return EXIT_FAIL if failed and len(failed) == len(summary.results) else EXIT_OK


def _story_json(s) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "id": s.id,
        "feed_id": s.feed_id,
        "feed": clean_text(s.feed_title),
        "title": clean_text(s.title),
        "author": clean_text(s.author) or None,
        "published": s.published.isoformat() if s.published else None,
        "link": s.link,
        "read": s.read,
        "starred": s.starred,
        "has_article": s.has_article,
    }


def cmd_list(service, args, config) -> int:  # type: ignore[no-untyped-def]
    from .core.store import StoryFilter

    feed_id = service.find_feed(args.feed).id if args.feed else None
    flt = StoryFilter(feed_id=feed_id, unread=args.unread, starred=args.starred, search=args.search)
    if args.limit < 1:
        raise TuinewsError("--limit must be at least 1")
    stories = service.list_stories(flt, limit=args.limit)
    if args.json:
        _out(json.dumps([_story_json(s) for s in stories], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not stories:
        _out("no stories match", sys.stderr)
        return EXIT_OK
    _out(f"{'ID':>7}  NEW  STAR  {'PUBLISHED (UTC)':16}  {'FEED':20}  TITLE")
    for s in stories:
        # One column per mark: a starred unread story shows both.
        new = "N" if not s.read else " "
        star = "*" if s.starred else " "
        feed = clean_text(s.feed_title)
        feed = feed if len(feed) <= 20 else feed[:19] + "…"
        _out(
            f"{s.id:>7}  {new:^3}  {star:^4}  {_age(s.published):16}  {feed:20}  "
            f"{clean_text(s.title)}"
        )
    return EXIT_OK


def cmd_read(service, args, config) -> int:  # type: ignore[no-untyped-def]
    from .core.service import iter_ids

    (story_id,) = iter_ids([args.id])
    story = service.story(story_id)
    if args.offline:
        article = service.cached_article(story_id)
        if article is None:
            raise TuinewsError(f"story {story_id} has no stored article (drop --offline)")
    else:
        article = service.fetch_article(story_id)
    service.set_read(story_id, True)
    from .core.export import byline_markdown

    title = clean_text(article.title or story.title)
    _out(f"# {title}\n")
    byline = byline_markdown(story, article)  # the same line as in an export
    if byline:
        _out(f"*{byline}*\n")
    if article.error:
        _out(f"> (no full text: {clean_text(article.error)})\n")
    elif article.notice:
        _out(f"> ({clean_text(article.notice)})\n")
    _out(clean_text(article.markdown, keep_newlines=True))
    return EXIT_OK


def cmd_export(service, args, config) -> int:  # type: ignore[no-untyped-def]
    from .core.service import iter_ids

    ids = iter_ids(args.ids)
    dest = Path(args.output).expanduser() if args.output else config.export_dir
    paths = service.export(ids, dest, force=args.force, fetch=not args.offline)
    for p in paths:
        _out(str(p))
    return EXIT_OK


def cmd_related(service, args, config) -> int:  # type: ignore[no-untyped-def]
    from .core.service import iter_ids

    (story_id,) = iter_ids([args.id])
    service.story(story_id)
    items = service.related(story_id)
    if args.json:
        _out(
            json.dumps(
                [
                    {
                        "group": r.group,
                        "title": clean_text(r.title),
                        "url": r.url,
                        "story_id": r.story_id,
                        "source": clean_text(r.source) or None,
                        "published": r.published.isoformat() if r.published else None,
                        "score": round(r.score, 4),
                        "reason": clean_text(r.reason),
                    }
                    for r in items
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    labels = {
        "same": "Same story elsewhere",
        "page": "From this page",
        "topic": "More on this topic",
    }
    last = None
    for r in items:
        if r.group != last:
            _out(f"\n{labels.get(r.group, r.group)}")
            last = r.group
        sid = f"{r.story_id:>7}" if r.story_id else "      -"
        _out(f"{sid}  {clean_text(r.title)}  ({clean_text(r.source)})  [{clean_text(r.reason)}]")
    if not items:
        _out("no related stories")
    return EXIT_OK


def cmd_import_opml(service, args, config) -> int:  # type: ignore[no-untyped-def]
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise TuinewsError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    added, skipped = service.import_opml(data)
    _out(f"{len(added)} feeds added, {skipped} already subscribed; run `tuinews refresh`")
    return EXIT_OK


def cmd_export_opml(service, args, config) -> int:  # type: ignore[no-untyped-def]
    text = service.export_opml()
    if args.file:
        try:
            Path(args.file).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise TuinewsError(f"cannot write {args.file}: {exc.strerror or exc}") from exc
        _out(f"wrote {args.file}", sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


_COMMANDS = {
    "add": cmd_add,
    "remove": cmd_remove,
    "feeds": cmd_feeds,
    "prefetch": cmd_prefetch,
    "refresh": cmd_refresh,
    "list": cmd_list,
    "read": cmd_read,
    "export": cmd_export,
    "related": cmd_related,
    "import-opml": cmd_import_opml,
    "export-opml": cmd_export_opml,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
