"""Batch export into a notes folder (an Obsidian or Logseq vault, a git repository of notes).

One Markdown file per story, with YAML front matter. File names are stable: a story keeps the
file it was first written to (``2026-11-21-brannock-traders-fear-lost-custom.md``), recorded in
``.tuinews-export.json`` in the folder, so a second run finds it again even when the story's
title changed. A second run rewrites only the files whose story changed (the ``exported_at``
line does not count), and never overwrites a file edited since it was written unless forced:
notes get annotated. Images stay on the web, as links, never embedded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import ExportError, TuinewsError
from .export import export_filename, export_markdown, write_export
from .models import Article, RelatedStory, Story

log = logging.getLogger(__name__)

MANIFEST = ".tuinews-export.json"
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\((<[^>\n]*>|[^)\s]+)(?:\s+\"[^\"\n]*\")?\)")


@dataclass(slots=True)
class BatchExport:
    """What a batch export did, file by file."""

    written: list[Path] = field(default_factory=list)
    """New files, and files whose story changed."""
    unchanged: list[Path] = field(default_factory=list)
    """Files already up to date (skipped)."""
    kept: list[Path] = field(default_factory=list)
    """Files edited since they were written: left as they are (``force`` overwrites)."""
    failed: list[str] = field(default_factory=list)
    """Stories that could not be exported, with why."""

    def summary(self) -> str:
        parts = [f"{len(self.written)} written", f"{len(self.unchanged)} unchanged (skipped)"]
        if self.kept:
            parts.append(f"{len(self.kept)} edited since the last export (kept)")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts)


def images_as_links(markdown: str) -> str:
    """``![alt](src)`` -> ``[Image: alt](src)``: the picture stays on the web."""

    def link(match: re.Match[str]) -> str:
        alt = match.group(1).strip() or "image"
        return f"[Image: {alt}]({match.group(2)})"

    return _IMAGE.sub(link, markdown)


def vault_markdown(
    story: Story,
    article: Article | None,
    related: Sequence[RelatedStory],
    *,
    exported_at: datetime | None = None,
) -> str:
    """One story as a note: :func:`export_markdown`, images as links."""
    if article is not None and article.markdown:
        article = replace(article, markdown=images_as_links(article.markdown))
    return export_markdown(story, article, related, exported_at=exported_at or datetime.now(UTC))


def content_hash(text: str) -> str:
    """The hash of a note without its ``exported_at`` line (which changes every run)."""
    kept = [line for line in text.split("\n") if not line.startswith("exported_at:")]
    return hashlib.sha256("\n".join(kept).encode("utf-8")).hexdigest()


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _story_key(story: Story) -> str:
    # The feed's own id for the story (usually its URL): the same in any cache, unlike our ids.
    return story.guid or story.link or f"id:{story.id}"


def _load_manifest(directory: Path) -> dict[str, dict[str, str]]:
    path = directory / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        # A damaged manifest only costs the stable names of earlier runs; say so in the log.
        log.warning("export manifest %s unreadable (%s): starting a new one", path, exc)
        return {}
    stories = data.get("stories") if isinstance(data, dict) else None
    if not isinstance(stories, dict):
        return {}
    return {
        str(k): v
        for k, v in stories.items()
        if isinstance(v, dict) and isinstance(v.get("file"), str)
    }


def _save_manifest(directory: Path, stories: dict[str, dict[str, str]]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tuinews-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"version": 1, "stories": stories}, handle, indent=1, sort_keys=True)
        os.replace(tmp, directory / MANIFEST)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ExportError(f"cannot write {directory / MANIFEST}: {exc.strerror or exc}") from exc


def export_to_vault(
    story_ids: Sequence[int],
    directory: Path,
    render: Callable[[int], tuple[Story, str]],
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
) -> BatchExport:
    """Write each story's note into ``directory``, rewriting only what changed.

    Args:
        story_ids: the stories.
        directory: the notes folder (created if needed).
        render: ``story_id -> (story, note text)``.
        force: overwrite notes edited since they were written.
        progress: called as ``(done, total)``.
        cancel: an object with ``is_set()``; stops between stories.

    Raises:
        ExportError: the folder cannot be created or the manifest not written.
    """
    directory = Path(directory).expanduser()
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory} is not a folder")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    manifest = _load_manifest(directory)
    owned = {entry["file"] for entry in manifest.values()}
    report = BatchExport()
    try:
        for done, story_id in enumerate(story_ids, 1):
            if cancel is not None and cancel.is_set():
                break
            try:
                story, text = render(story_id)
            except TuinewsError as exc:
                report.failed.append(f"story {story_id}: {exc}")
                continue
            key = _story_key(story)
            digest = content_hash(text)
            entry = manifest.get(key)
            target = directory / entry["file"] if entry else None
            if entry and target is not None and target.exists():
                on_disk = _file_hash(target)
                if entry.get("hash") == digest:
                    report.unchanged.append(target)
                    continue
                if on_disk != entry.get("written") and not force:
                    report.kept.append(target)
                    continue
                name = entry["file"]
            elif entry:
                name = entry["file"]  # deleted since: written again under its own name
            else:
                name = _free_name(directory, export_filename(story, None), owned)
            try:
                path = write_export(text, directory, name, force=True)
            except ExportError as exc:
                report.failed.append(f"story {story_id}: {exc}")
                continue
            owned.add(path.name)
            manifest[key] = {
                "file": path.name,
                "hash": digest,
                "written": _file_hash(path) or "",
                "story_id": str(story_id),
            }
            report.written.append(path)
            if progress is not None:
                progress(done, len(story_ids))
    finally:
        _save_manifest(directory, manifest)
    return report


def _free_name(directory: Path, name: str, owned: set[str]) -> str:
    """``name``, or ``name-2.md``... when another story's note (or any file) has it."""
    stem, n = name.removesuffix(".md"), 1
    while name in owned or (directory / name).exists():
        n += 1
        name = f"{stem}-{n}.md"
    return name
