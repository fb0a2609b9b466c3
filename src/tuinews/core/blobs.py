"""Compressed blobs in the cache: a feed item's HTML, a fetched page.

zstd at level 1: on the benchmark machine it is 3.7x faster than zlib at level 1 for the same
ratio, and decompresses 2x faster (bench/RESULTS.md), which matters at 50,000 items per refresh.
Caches written by earlier versions hold zlib streams; a zlib stream never starts with zstd's
magic number, so both are read.
"""

from __future__ import annotations

import threading
import zlib

import zstandard

MAX_RAW_BYTES = 8 * 1024 * 1024
"""A fetched page is kept up to this many bytes."""
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_codecs = threading.local()


def _zstd() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    """This thread's zstd compressor and decompressor (they are not thread-safe)."""
    pair: tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor] | None = getattr(
        _codecs, "pair", None
    )
    if pair is None:
        pair = (zstandard.ZstdCompressor(level=1), zstandard.ZstdDecompressor())
        _codecs.pair = pair
    return pair


def pack(data: bytes) -> bytes:
    """Compress a blob for the cache."""
    return _zstd()[0].compress(data)


def unpack(blob: bytes) -> bytes:
    """Decompress a blob written by :func:`pack` (zstd) or by older versions (zlib)."""
    if blob[:4] == _ZSTD_MAGIC:
        return _zstd()[1].decompress(blob)
    return zlib.decompress(blob)


def pack_page(body: bytes) -> bytes:
    """Compress a fetched page for the cache (its first :data:`MAX_RAW_BYTES`)."""
    return pack(body[:MAX_RAW_BYTES])
