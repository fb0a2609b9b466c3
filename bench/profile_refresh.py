"""Profile a tuinews refresh (first fetch, then every feed changed) with pyinstrument.

    python bench/profile_refresh.py 1000 bench/profiles/refresh-1000

writes ``<prefix>-first.txt`` and ``<prefix>-changed.txt`` (pyinstrument's text report of the
main thread). The world is served in its own process, as in the bench.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ServedWorld, isolated_env, log, tuinews_cmd  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("feeds", type=int)
    p.add_argument("prefix", help="output prefix, e.g. bench/profiles/refresh-1000")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tuinews-prof-"))
    try:
        with ServedWorld(args.feeds) as world:
            env = isolated_env(work / "home")
            data = work / "data"
            opml = world.write_opml(work / "feeds.opml")
            subprocess.run(
                tuinews_cmd(data, "import-opml", str(opml)),
                env=env,
                check=True,
                capture_output=True,
            )
            world.set_generation(0)
            for phase in ("first", "changed"):
                if phase == "changed":
                    world.set_generation(1)
                out = Path(f"{args.prefix}-{phase}.txt")
                cmd = [
                    sys.executable,
                    "-m",
                    "pyinstrument",
                    "-r",
                    "text",
                    "-o",
                    str(out),
                    "-m",
                    "tuinews",
                    "--data-dir",
                    str(data),
                    "refresh",
                    "-q",
                ]
                subprocess.run(cmd, env=env, check=True)
                log(f"profile {phase} N={args.feeds}: {out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
