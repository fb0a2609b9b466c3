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
    a.add_argument(
        "--account",
        action="store_true",
        help="subscribe on the sync server (sent at the next sync; the server fetches it)",
    )
    a.add_argument("--folder", metavar="NAME", help="with --account: the server folder")

    r = sub.add_parser("remove", help="unsubscribe from a feed (id, URL or title)")
    r.add_argument("feed")

    pf = sub.add_parser("prefetch", help="turn full-text prefetch on or off for a feed")
    pf.add_argument("feed", help="id, URL or title")
    pf.add_argument("state", choices=["on", "off"])

    f = sub.add_parser(
        "feeds", help="list subscriptions: unread counts, folders, schedule, errors; or change one"
    )
    f.add_argument("--json", action="store_true")
    fsub = f.add_subparsers(dest="feeds_command", metavar="ACTION")
    fs = fsub.add_parser("set", help="change a feed's folder or refresh interval")
    fs.add_argument("feed", help="id, URL or title")
    fs.add_argument("--folder", metavar="NAME", help='its folder ("" for none; "A/B" nests)')
    fs.add_argument(
        "--interval", metavar="TIME", help='refresh interval: 30m, 2h, 1d, or "default"'
    )

    cl = sub.add_parser(
        "cleanup", help="apply the retention ([retention] in the config) and shrink the cache"
    )
    cl.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    cl.add_argument("--json", action="store_true", help="the report as JSON")
    cl.add_argument(
        "--no-full-vacuum",
        action="store_true",
        help="never the one full VACUUM an older cache needs to shrink (the app's daily run)",
    )
    cl.add_argument("--keep-days", type=int, metavar="N", help="override [retention] keep_days")
    cl.add_argument(
        "--keep-per-feed", type=int, metavar="N", help="override [retention] keep_per_feed"
    )
    cl.add_argument(
        "--full-text-days", type=int, metavar="N", help="override [retention] full_text_days"
    )

    ss = sub.add_parser("searches", help="saved searches (shown as virtual feeds in the app)")
    ss.add_argument("--json", action="store_true")
    ssub = ss.add_subparsers(dest="searches_command", metavar="ACTION")
    ssa = ssub.add_parser("add", help="save a search under a name")
    ssa.add_argument("name")
    ssa.add_argument("query", help='e.g. "bridge is:unread folder:News after:2026-11-01"')
    ssr = ssub.add_parser("remove", help="delete a saved search")
    ssr.add_argument("name", help="name or id")

    rf = sub.add_parser("refresh", help="fetch feeds and store new stories")
    rf.add_argument("feeds", nargs="*", metavar="FEED", help="id, URL or title (default: all)")
    rf.add_argument("--prefetch", action="store_true", help="also fetch full text of new stories")
    rf.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    rf.add_argument(
        "--due", action="store_true", help="only the feeds whose scheduled refresh is due"
    )

    ls = sub.add_parser("list", help="list stories, newest first")
    ls.add_argument("--unread", action="store_true")
    ls.add_argument("--starred", action="store_true")
    ls.add_argument("--feed", metavar="F", help="id, URL or title")
    ls.add_argument(
        "--search",
        metavar="Q",
        help="search (FTS5 syntax plus feed:, folder:, is:unread, is:starred, after:DATE)",
    )
    ls.add_argument("--folder", metavar="NAME", help="the stories of a folder's feeds")
    ls.add_argument("--saved", metavar="NAME", help="the stories of a saved search")
    ls.add_argument("--limit", type=int, default=50, metavar="N")
    ls.add_argument("--json", action="store_true")

    rd = sub.add_parser("read", help="print a story's article as Markdown (fetched if needed)")
    rd.add_argument("id")
    rd.add_argument("--offline", action="store_true", help="only what the cache holds")

    ex = sub.add_parser(
        "export",
        help="export stories to Markdown files (by id, or a whole list --to a notes folder)",
    )
    ex.add_argument("ids", nargs="*", metavar="ID")
    ex.add_argument(
        "-o",
        "--output",
        metavar="FILE|DIR",
        help="file (one story) or directory (default: [export] dir in the config)",
    )
    ex.add_argument("--force", action="store_true", help="overwrite existing (or edited) files")
    ex.add_argument("--offline", action="store_true", help="only what the cache holds")
    ex.add_argument(
        "--to",
        metavar="DIR",
        help="batch export into a notes folder: stable names, rewrites only what changed",
    )
    ex.add_argument("--starred", action="store_true", help="every starred story")
    ex.add_argument("--feed", metavar="F", help="every story of a feed")
    ex.add_argument("--folder", metavar="NAME", help="every story of a folder")
    ex.add_argument("--search", metavar="Q", help="every story a search finds")

    rel = sub.add_parser("related", help="stories related to a story")
    rel.add_argument("id")
    rel.add_argument("--json", action="store_true")

    _sync_parsers(sub)

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
    service = Service(
        config.db_path,
        limits=limits,
        extract_workers=config.extract_workers,
        extract_timeout=config.extract_timeout,
        prefetch_limit=config.prefetch_limit,
    )
    for refused in service.store.set_hide_rules(config.hide):
        log.warning("[filters] hide: %s", refused)
        _out(f"tuinews: config [filters] hide: ignoring {clean_text(refused)}", sys.stderr)
    return service


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
    if args.account:
        return _add_on_account(service, args)
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
    from datetime import UTC, datetime

    from .core.models import Feed
    from .core.schedule import FeedSchedule, feed_schedule, is_scheduled

    if getattr(args, "feeds_command", None) == "set":
        return _feeds_set(service, args)
    feeds = service.store.feeds(with_totals=True)
    now = datetime.now(UTC)

    def schedule_of(f: Feed) -> FeedSchedule | None:
        if not is_scheduled(f):
            return None
        return feed_schedule(f, default_interval=config.refresh_interval, now=now)

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
                        "folder": clean_text(f.folder) or None,
                        "refresh_interval": f.refresh_interval,
                        "server_interval": f.server_interval,
                        "failures": f.failures,
                        "next_refresh": sched.due.isoformat() if sched else None,
                        "backing_off": sched.backing_off if sched else False,
                    }
                    for f in feeds
                    for sched in [schedule_of(f)]
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
    by_folder = sorted(feeds, key=lambda f: (f.folder is not None, (f.folder or "").lower()))
    folder: str | None = None
    for f in by_folder:
        if f.folder and f.folder != folder:
            folder = f.folder
            _out(f"[{clean_text(folder)}]")
        mark = "!" if f.last_error else " "
        counts = f"{f.unread}/{f.total}"
        # A longer title is printed whole (it pushes its URL right): never cut a name.
        _out(f"{f.id:>4} {mark} {counts:<13} {clean_text(f.title):<{width}}  {f.url}")
        sched = schedule_of(f)
        if f.gone:
            _out(f"{'':>7}gone: not refreshed unless named (`tuinews refresh FEED`)")
        elif sched is not None:
            _out(f"{'':>7}refresh: {sched.describe(f, now)}")
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


def _feeds_set(service, args) -> int:  # type: ignore[no-untyped-def]
    from .core.schedule import format_duration, parse_duration

    if args.folder is None and args.interval is None:
        raise TuinewsError("feeds set: give --folder NAME and/or --interval TIME")
    feed = service.find_feed(args.feed)
    changes = []
    if args.folder is not None:
        service.store.set_feed_folder(feed.id, args.folder)
        name = service.store.feed(feed.id).folder
        changes.append(f"folder {clean_text(name)!r}" if name else "no folder")
    if args.interval is not None:
        if args.interval.strip().lower() in ("default", "", "none"):
            service.store.set_feed_interval(feed.id, None)
            changes.append("the default refresh interval")
        else:
            seconds = parse_duration(args.interval)
            service.store.set_feed_interval(feed.id, seconds)
            changes.append(f"refreshed every {format_duration(seconds)}")
    _out(f"{clean_text(feed.title)} <{feed.url}>: " + ", ".join(changes))
    return EXIT_OK


def cmd_cleanup(service, args, config) -> int:  # type: ignore[no-untyped-def]
    def pick(value: int | None, default: int) -> int:
        if value is not None and value < 0:
            raise TuinewsError("cleanup: the limits must be 0 or more")
        return default if value is None else value

    report = service.cleanup(
        keep_days=pick(args.keep_days, config.keep_days),
        keep_per_feed=pick(args.keep_per_feed, config.keep_per_feed),
        full_text_days=pick(args.full_text_days, config.full_text_days),
        dry_run=args.dry_run,
        convert=not args.no_full_vacuum,
    )
    if args.json:
        import dataclasses

        _out(json.dumps(dataclasses.asdict(report)))
        return EXIT_OK
    _out(_cleanup_text(report))
    return EXIT_OK


def _cleanup_text(report) -> str:  # type: ignore[no-untyped-def]
    def mib(n: int) -> str:
        return f"{n / (1024 * 1024):.1f} MiB"

    verb = "would delete" if report.dry_run else "deleted"
    lines = [
        f"{verb} {report.stories_deleted:,} stories; "
        f"{'would drop' if report.dry_run else 'dropped'} the stored page and full text of "
        f"{report.full_texts_dropped:,} older ones",
    ]
    kept = []
    if report.kept_starred:
        kept.append(f"{report.kept_starred:,} starred")
    if report.kept_in_feed:
        kept.append(f"{report.kept_in_feed:,} still in their feed")
    if kept:
        lines.append("kept past the limits: " + ", ".join(kept))
    if report.feeds_skipped:
        lines.append(
            f"{report.feeds_skipped} feeds not refreshed since this version: left alone until "
            "their next refresh"
        )
    if report.dry_run:
        lines.append(f"cache: {mib(report.bytes_before)}")
    else:
        lines.append(
            f"cache: {mib(report.bytes_before)} -> {mib(report.bytes_after)}"
            f" (vacuum: {report.vacuum}) in {report.seconds:.1f} s"
            + (
                f", {report.vacuum_seconds:.1f} s of it giving the space back"
                if report.vacuum_seconds >= 0.1
                else ""
            )
        )
    return "\n".join(lines)


def cmd_searches(service, args, config) -> int:  # type: ignore[no-untyped-def]
    from .core.store import StoryFilter

    command = getattr(args, "searches_command", None)
    if command == "add":
        service.store.save_search(args.name, args.query)
        count = service.store.count_stories(StoryFilter(query=args.query))
        _out(f"saved {clean_text(args.name)!r}: {count} stories match now")
        return EXIT_OK
    if command == "remove":
        name = service.store.delete_saved_search(args.name)
        _out(f"removed the saved search {clean_text(name)!r}")
        return EXIT_OK
    rows = service.store.saved_searches()
    counts = [
        (
            service.store.count_stories(StoryFilter(query=q)),
            service.store.count_stories(StoryFilter(query=q, unread=True)),
        )
        for _, _, q in rows
    ]
    if args.json:
        _out(
            json.dumps(
                [
                    {
                        "id": i,
                        "name": clean_text(n),
                        "query": clean_text(q),
                        "total": t,
                        "unread": u,
                    }
                    for (i, n, q), (t, u) in zip(rows, counts, strict=True)
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    if not rows:
        _out('no saved searches: `tuinews searches add NAME "QUERY"`, or S in the app')
    for (i, n, q), (t, u) in zip(rows, counts, strict=True):
        _out(f"{i:>4} {u:>5}/{t:<6} {clean_text(n)}  [{clean_text(q)}]")
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

    if args.due:
        due = set(service.due_feed_ids(config.refresh_interval))
        ids = [i for i in ids if i in due] if ids is not None else sorted(due)
        if not ids:
            _out("no feed is due for a refresh")
            return EXIT_OK
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
    saved = _saved_query(service, args.saved) if args.saved else None
    if args.search:
        service.store.parse_search(args.search)  # a bad filter: a clear message, exit 1
    flt = StoryFilter(
        feed_id=feed_id,
        unread=args.unread,
        starred=args.starred,
        search=args.search,
        folder=args.folder,
        query=saved,
    )
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


def _saved_query(service, name: str) -> str:  # type: ignore[no-untyped-def]
    for i, n, q in service.store.saved_searches():
        if n.lower() == name.lower() or str(i) == name:
            return str(q)
    raise TuinewsError(f"no saved search {name!r} (see `tuinews searches`)")


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
    from .core.store import StoryFilter

    listing = args.starred or args.feed or args.folder or args.search
    if listing or args.to:
        if args.output:
            raise TuinewsError("export: use --to DIR with --starred/--feed/--folder/--search")
        if not args.to:
            raise TuinewsError("export: --starred/--feed/--folder/--search need --to DIR")
        ids = iter_ids(args.ids)
        if listing:
            if args.search:
                service.store.parse_search(args.search)
            flt = StoryFilter(
                feed_id=service.find_feed(args.feed).id if args.feed else None,
                starred=args.starred,
                folder=args.folder,
                query=args.search,
            )
            ids += [i for i in service.store.story_ids(flt) if i not in ids]
        if not ids:
            _out("nothing to export: no story matches")
            return EXIT_OK
        report = service.export_batch(ids, Path(args.to), fetch=not args.offline, force=args.force)
        for p in report.written:
            _out(f"wrote {p}")
        for p in report.kept:
            _out(f"kept {p} (edited since the last export; --force overwrites it)")
        for line in report.failed:
            _out(f"failed: {clean_text(line)}", sys.stderr)
        _out(f"{Path(args.to)}: {report.summary()}")
        return EXIT_FAIL if report.failed and not report.written else EXIT_OK
    if not args.ids:
        raise TuinewsError("export: give story ids, or a list (--starred, --feed...) --to DIR")
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


# -- sync with a Google Reader API server, and marking stories (issue 16) -----------------


def _sync_parsers(sub) -> None:  # type: ignore[no-untyped-def]
    acc = sub.add_parser("account", help="the sync account (a Google Reader API server)")
    acc_sub = acc.add_subparsers(dest="account_command", metavar="ACTION", required=True)
    add = acc_sub.add_parser(
        "add",
        help="log in to a server (password from $TUINEWS_PASSWORD, else asked); only the"
        " server's token is kept",
    )
    add.add_argument("kind", choices=["greader"], help="the API (greader: Google Reader API)")
    add.add_argument("url", help="the API address, e.g. https://host/api/greader.php")
    add.add_argument("--user", required=True, metavar="NAME")
    acc_sub.add_parser("list", help="the account, its last sync and queued changes")
    acc_sub.add_parser("remove", help="forget the account (its feeds stay, as local feeds)")

    sy = sub.add_parser("sync", help="sync with the account's server (send, then pull)")
    sy.add_argument("--prefetch", action="store_true", help="also fetch full text of new stories")
    sy.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    sy.add_argument(
        "--days",
        type=int,
        default=14,
        metavar="N",
        help="the first sync takes read items of the last N days (unread and starred: all)",
    )

    mk = sub.add_parser(
        "mark",
        help="mark stories read, unread, starred or unstarred (sent to the sync server too)",
        description="tuinews mark ID... read|unread|star|unstar, or tuinews mark --feed F --all"
        " read. Stories of the sync server's feeds are queued for it (sent at the next sync).",
    )
    mk.add_argument("args", nargs="+", metavar="ID... ACTION")
    mk.add_argument("--feed", metavar="F", help="with --all: this feed (id, URL or title)")
    mk.add_argument("--all", action="store_true", help="every story (of --feed, or of all feeds)")


def _password(user: str, url: str) -> str:
    import getpass
    import os

    password = os.environ.get("TUINEWS_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        raise TuinewsError("no password: set TUINEWS_PASSWORD (no terminal to ask on)")
    try:
        return getpass.getpass(f"password for {user} at {url}: ")
    except EOFError as exc:
        raise TuinewsError("no password given") from exc


def cmd_account(service, args, config) -> int:  # type: ignore[no-untyped-def]
    if args.account_command == "add":
        password = _password(args.user, args.url)
        account = service.add_account(args.kind, args.url, args.user, password)
        _out(f"logged in as {account.user} at {account.url}; run `tuinews sync`")
        return EXIT_OK
    if args.account_command == "remove":
        pending = service.sync_status()["pending"] if service.account() else 0
        had, dropped = service.remove_account()
        if not had:
            _out("no sync account")
            return EXIT_OK
        _out(
            "account removed; its feeds stay as local feeds"
            + (f" ({dropped} unsent changes dropped)" if dropped or pending else "")
        )
        return EXIT_OK
    account = service.account()
    if account is None:
        _out("no sync account: add one with `tuinews account add greader URL --user NAME`")
        return EXIT_OK
    status = service.sync_status()
    feeds = len(service.account_feed_ids())
    last = status["last_sync"]
    when = _age(_from_ts(last)) if last else "never"
    _out(f"{account.kind}  {clean_text(account.user)}  {account.url}")
    _out(f"  {feeds} feeds; last sync: {when}; {status['pending']} changes waiting to be sent")
    if status["last_error"]:
        _out(f"  last error: {clean_text(status['last_error'])}")
    return EXIT_OK


def _from_ts(value: int):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(value), UTC)


def cmd_sync(service, args, config) -> int:  # type: ignore[no-untyped-def]
    quiet = args.quiet
    shown: dict[str, int] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if quiet or not total or not done:
            return
        # At most every 10% of a phase, and its end.
        step = max(1, total // 10)
        if done == total or done - shown.get(phase, -step) >= step:
            shown[phase] = done
            _out(f"[{phase} {done}/{total}]", sys.stderr)

    summary = service.sync(progress=progress, recent_days=max(0, args.days))
    fetched = failed = 0
    if summary.new_story_ids and (args.prefetch or config.prefetch):
        fetched, failed = service.fetch_articles(summary.new_story_ids)
    _out(
        f"synced: {summary.sent} changes sent, {summary.feeds} feeds"
        + (f" ({summary.feeds_added} new)" if summary.feeds_added else "")
        + (f", {summary.feeds_removed} removed" if summary.feeds_removed else "")
        + f", {summary.new_stories} new stories, {summary.state_changes} read/star changes"
        + (f"; articles: {fetched} stored, {failed} failed" if fetched or failed else "")
        + f" ({summary.requests} requests, {summary.seconds:.1f} s)"
    )
    for warning in summary.warnings[:20]:
        _out(f"  warning: {clean_text(warning)}", sys.stderr)
    if len(summary.warnings) > 20:
        _out(f"  ... and {len(summary.warnings) - 20} more warnings", sys.stderr)
    return EXIT_FAIL if summary.warnings else EXIT_OK


_MARKS = ("read", "unread", "star", "unstar")


def cmd_mark(service, args, config) -> int:  # type: ignore[no-untyped-def]
    from .core.service import iter_ids

    *ids, action = args.args
    if action not in _MARKS:
        raise TuinewsError(f"the last argument must be one of {', '.join(_MARKS)}: not {action!r}")
    if args.all:
        if ids:
            raise TuinewsError("--all takes no story ids")
        if action != "read":
            raise TuinewsError("--all only marks read")
        feed = service.find_feed(args.feed) if args.feed else None
        count = service.store.mark_feed_read(feed.id if feed else None)
        where = clean_text(feed.title) if feed else "all feeds"
        _out(f"{count} stories marked read ({where})")
        return EXIT_OK
    if args.feed:
        raise TuinewsError("--feed goes with --all")
    if not ids:
        raise TuinewsError("give story ids (see `tuinews list`), or --all")
    count = service.mark(iter_ids(ids), action)
    _out(f"{count} {'story' if count == 1 else 'stories'} marked {action}")
    return EXIT_OK


def _add_on_account(service, args) -> int:  # type: ignore[no-untyped-def]
    service.subscribe_on_account(args.url, args.folder)
    try:
        summary = service.sync()
    except TuinewsError as exc:
        _out(f"queued: the sync server subscribes at the next sync ({clean_text(exc.message)})")
        return EXIT_OK
    for warning in summary.warnings:
        _out(f"tuinews: {clean_text(warning)}", sys.stderr)
    if summary.warnings:
        return EXIT_FAIL
    _out(f"subscribed on the sync server: {args.url} ({summary.new_stories} new stories)")
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
    "cleanup": cmd_cleanup,
    "searches": cmd_searches,
    "export-opml": cmd_export_opml,
    "account": cmd_account,
    "sync": cmd_sync,
    "mark": cmd_mark,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
