"""Start the real app headless and report when the story list is filled and painted.

    python bench/startup_child.py DATA_DIR [--interact]

Prints one JSON line: ``ready_s`` is the time from this process's start (``/proc/self/stat``
field 22, in clock ticks since boot, against ``CLOCK_BOOTTIME``) until the main screen is
mounted, the story list has its count and the first screen of rows has been rendered. It starts
the app the way ``tuinews`` does (``load_config``, the CLI's service, ``TuinewsApp``), in a
120x40 headless terminal. ``--interact`` then scrolls to the end and back, runs a search and
pages through it (for the memory figure).
"""

from __future__ import annotations

import os
import time


def since_start() -> float:
    with open("/proc/self/stat", "rb") as fh:
        stat = fh.read()
    start_ticks = int(stat[stat.rfind(b")") + 2 :].split()[19])
    return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")


import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

IMPORTED_AT = since_start()


async def run(data_dir: str, interact: bool) -> dict[str, float]:
    from tuinews.cli import _service, _setup_logging
    from tuinews.config import load_config
    from tuinews.ui.app import TuinewsApp
    from tuinews.ui.widgets.story_list import StoryList

    config = load_config(data_dir)
    _setup_logging(config)
    service = _service(config)
    out: dict[str, float] = {"python_started_s": IMPORTED_AT}
    try:
        app = TuinewsApp(service, config, first_run=service.needs_first_run())
        async with app.run_test(size=(120, 40)) as pilot:
            stories = None
            while True:
                try:
                    stories = app.screen.query_one(StoryList)
                except Exception:  # noqa: BLE001 - the main screen is not mounted yet
                    stories = None
                if stories is not None and stories._loaded:
                    break
                await pilot.pause(0.002)
            await pilot.pause()  # let the first frame with rows be rendered
            rows = [stories.plain_row(i) for i in range(min(5, stories.count))]
            out["ready_s"] = since_start()
            out["count"] = stories.count
            out["rows_rendered"] = sum(1 for r in rows if r.strip())
            if interact and stories.count:
                stories.action_last()
                await pilot.pause()
                stories.action_first()
                await pilot.pause()
                for _ in range(20):
                    stories.action_page_down()
                    await pilot.pause()
                from tuinews.core.store import StoryFilter

                stories.set_filter(StoryFilter(search="energy prices"))
                await pilot.pause()
                stories.set_filter(StoryFilter())
                await pilot.pause()
                out["interacted_s"] = since_start()
            await app.action_quit()
    finally:
        service.close()
    return out


def main() -> int:
    out = asyncio.run(run(sys.argv[1], "--interact" in sys.argv))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
