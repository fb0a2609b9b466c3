"""The Textual app: wiring only. The service is injected; the main screen does the work.

Entry point (what the CLI calls)::

    TuinewsApp(service, config, first_run=service.needs_first_run(), demo=False).run()
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from tuinews.config import Config
from tuinews.core.errors import TuinewsError
from tuinews.core.service import Service

from .screens.dialogs import HelpDialog
from .screens.main import MainScreen
from .widgets.story_list import utc_now

log = logging.getLogger(__name__)

THEME_KEY = "ui.theme"


def start_process_helpers() -> None:
    """Start multiprocessing's resource tracker while ``sys.stderr`` is still the real one.

    While the app runs, Textual replaces ``sys.stderr`` with an object whose ``fileno()`` is -1;
    the resource tracker passes that descriptor to its child, and the first extraction pool
    started from a worker would fail with "bad value(s) in fds_to_keep".
    """
    if sys.platform == "win32":
        return
    try:
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
    except Exception as exc:  # best effort: extraction reports its own errors later
        log.warning("could not start the multiprocessing resource tracker: %s", exc)


UI_SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits for it, in the app (Python's default is
0.005). A background refresh runs an event loop and a store writer in two threads; each query of
the UI thread gives the GIL up around every SQLite step and waited up to 5 ms for it each time,
so re-reading the lists took 30-70 ms. One A/B gave a largest gap between frames of 55-80 ms
with 1 ms against 85-189 ms with 5 ms; later runs did not confirm it clearly
(bench/bench_frames.py, bench/RESULTS.md)."""


def share_the_gil_quickly() -> None:
    """Make threads hand the GIL over sooner (see :data:`UI_SWITCH_INTERVAL`)."""
    sys.setswitchinterval(min(sys.getswitchinterval(), UI_SWITCH_INTERVAL))


class ReaderCommands(Provider):
    """Every action of the main screen, and "go to feed", in the command palette."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        app = self.app
        if not isinstance(app, TuinewsApp):
            return []
        screen = app.get_screen("main")
        if not isinstance(screen, MainScreen):
            return []
        commands: list[tuple[str, str, Any]] = []
        for binding in MainScreen.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.description:
                commands.append(
                    (
                        binding.description,
                        f"keys: {app.keys_shown(binding)}",
                        partial(screen.run_action, binding.action),
                    )
                )
        for choice in screen.feeds.choices:
            commands.append(
                (
                    f"Go to feed: {choice.label}",
                    "show its stories",
                    partial(_go_to_feed, screen, choice.key),
                )
            )
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                # markup-free: feed names are web text, so highlight only our own match spans.
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)


def _go_to_feed(screen: MainScreen, key: str) -> None:
    screen.feeds.select_key(key)
    screen.stories.focus()


class TuinewsApp(App[None]):
    """tuinews: a terminal news reader.

    Args:
        service: the core facade (owned by the caller, who closes it).
        config: paths, theme and the key remapping (``config.keys``: binding id -> "k1,k2").
        first_run: load the bundled samples in the background at start.
        demo: the offline demo (loads the samples too).
        now: the clock behind every age and date shown (UTC-aware; tests freeze it).
        timezone: the zone dates show in (None: the local one).
    """

    TITLE = "tuinews"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ReaderCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Keys", id="help"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="command_palette"),
    ]

    def __init__(
        self,
        service: Service,
        config: Config,
        *,
        first_run: bool = False,
        demo: bool = False,
        now: Callable[[], datetime] = utc_now,
        timezone: tzinfo | None = None,
    ) -> None:
        super().__init__()
        start_process_helpers()
        share_the_gil_quickly()
        self.service = service
        self.config = config
        self.first_run = first_run
        self.demo = demo
        self.now = now
        """The current time, for ages and dates."""
        self.timezone = timezone
        """The zone dates show in (None: local)."""
        self._theme_ready = False

    def on_mount(self) -> None:
        saved = self._setting(THEME_KEY)
        for name in (saved, self.config.theme):
            if name and name in self.available_themes:
                self.theme = name
                break
        self._theme_ready = True
        if self.config.keys:
            self.set_keymap(self.config.keys)
        for refused in self.service.store.set_hide_rules(self.config.hide):
            self.notify(f"[filters] hide: ignoring {refused}", severity="warning", markup=False)
        main = MainScreen(
            self.service,
            load_samples=self.first_run or self.demo,
            clock=self.now,
            timezone=self.timezone,
        )
        self.install_screen(main, "main")
        self.push_screen("main")
        self.call_after_refresh(self._freeze_startup_objects)

    @staticmethod
    def _freeze_startup_objects() -> None:
        """Keep what start-up built (modules, widgets, styles) out of the cyclic collector's
        full passes: with it, a full pass took up to 190 ms, a frozen UI while a background
        refresh allocated (bench/bench_daily.py)."""
        gc.collect()
        gc.freeze()

    def _setting(self, key: str) -> Any:
        try:
            return self.service.store.get_setting(key)
        except TuinewsError as exc:
            log.warning("setting %s unreadable: %s", key, exc)
            return None

    def watch_theme(self, theme: str) -> None:
        """Remember the theme the user picks (command palette) for the next start."""
        if self._theme_ready:
            try:
                self.service.store.set_setting(THEME_KEY, theme)
            except TuinewsError as exc:
                log.warning("could not save the theme: %s", exc)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Keys", "List every key binding", self.action_help)

    def binding_rows(self) -> list[tuple[str, str, str]]:
        """(keys, description, id) of every binding of the main screen, its widgets and the
        app, with the keymap applied."""
        from .widgets.article_view import ArticleView
        from .widgets.story_list import StoryList

        rows: list[tuple[str, str, str]] = []
        from .widgets.feed_list import FeedList

        for owner in (MainScreen, FeedList, StoryList, ArticleView, TuinewsApp):
            for binding in owner.BINDINGS:
                assert isinstance(binding, Binding)
                if binding.id is None:
                    continue
                rows.append((self.keys_shown(binding), binding.description, binding.id))
        return rows

    def keys_shown(self, binding: Binding) -> str:
        """The keys of a binding as the user sees them, with the keymap applied ("j, down")."""
        keys = self._keymap.get(binding.id, binding.key) if binding.id else binding.key
        return ", ".join(
            self.get_key_display(binding.with_key(key.strip())) for key in keys.split(",")
        )

    def action_help(self) -> None:
        if isinstance(self.screen, HelpDialog):
            return
        self.push_screen(HelpDialog(self.binding_rows()))

    async def action_quit(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.stop_background()
                screen.save_position()
        self.exit()
