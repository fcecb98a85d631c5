"""Synthesized clips on disk, keyed by text, voice, rate and volume, so a phrase is synthesized once.

A clip is ``DIR/<sha256 of the key>.wav``; the cache keeps at most ``limit`` clips and removes the least
recently used. Only the announcer thread writes to it.
"""
from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path


class ClipCache:
    """A bounded folder of WAV clips."""

    def __init__(self, folder: Path, limit: int = 500):
        self.folder = folder
        self.limit = limit
        self.hits = self.misses = 0
        folder.mkdir(parents=True, exist_ok=True)
        clips = sorted(folder.glob("*.wav"), key=lambda p: p.stat().st_mtime)
        self._clips: OrderedDict[str, Path] = OrderedDict((p.stem, p) for p in clips)
        self._trim()

    @staticmethod
    def key(text: str, voice: str, rate: int, volume: float) -> str:
        """The cache key of a phrase said with a voice, a rate and a volume."""
        return hashlib.sha256(f"{voice}\n{rate}\n{volume:.3f}\n{text}".encode()).hexdigest()

    def get(self, key: str) -> Path | None:
        """The clip for ``key`` if it is cached (and still on disk), counting hits and misses."""
        path = self._clips.get(key)
        if path is not None and path.exists():
            self._clips.move_to_end(key)
            self.hits += 1
            return path
        self._clips.pop(key, None)
        self.misses += 1
        return None

    def scratch(self, key: str) -> Path:
        """A fresh path to synthesize ``key`` into before :meth:`put` (never the final name)."""
        return self.folder / f".{key}.{os.getpid()}.tmp.wav"

    def put(self, key: str, scratch: Path) -> Path:
        """Move a synthesized clip into the cache and return its path."""
        path = self.folder / f"{key}.wav"
        os.replace(scratch, path)
        self._clips[key] = path
        self._clips.move_to_end(key)
        self._trim()
        return path

    def __len__(self) -> int:
        return len(self._clips)

    def _trim(self) -> None:
        while len(self._clips) > self.limit:
            _key, old = self._clips.popitem(last=False)
            old.unlink(missing_ok=True)
