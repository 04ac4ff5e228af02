"""The probe stage: what ffprobe says about a file, and which ffmpeg/ffprobe we run, remembered by content.

Probe facts are keyed by the file's content id, this module's code digest and ffprobe's version, so a CI checkout
(new mtimes) probes nothing it probed before, and a new ffprobe or a change to the parser probes again.
Tool versions are remembered by the binary's own sha256: a run that derives nothing starts no ffmpeg or ffprobe.
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import asdict
from pathlib import Path

from mediafeed.cache.code import code_digest
from mediafeed.cache.identity import ContentIds
from mediafeed.cache.store import Store, key_of
from mediafeed.errors import MediaError
from mediafeed.media import ffmpeg
from mediafeed.mediainfo import MediaInfo


class Facts:
    """Content ids, sha256, probe results and tool versions for the media stages of one run."""

    def __init__(self, store: Store, ids: ContentIds) -> None:
        self.store = store
        self.ids = ids
        self._versions: dict[str, str] = {}
        self._lock = threading.Lock()

    def sha256(self, path: Path) -> str:
        return self.ids.sha256(path)

    def id(self, path: Path) -> str:
        return self.ids.id(path)

    def tool(self, name: str) -> str:
        """The first line of `name -version` (e.g. 'ffmpeg version 5.1.6-0+deb12u1'), remembered by the binary's sha256."""
        with self._lock:
            known = self._versions.get(name)
        if known is not None:
            return known
        binary = Path(ffmpeg.find_tool(name))
        key = key_of("tool", name, self.ids.sha256(binary.resolve()))
        version = self.store.get("tool", key)
        if isinstance(version, str):
            self.store.share_known("tool", [(key, version, [])])  # known here from before the shared tier: share it
        else:
            try:
                output = subprocess.run([str(binary), "-version"], capture_output=True, check=False, timeout=60).stdout
            except (OSError, subprocess.SubprocessError):
                output = b""
            version = output.decode("utf-8", "replace").splitlines()[0] if output.strip() else f"{name} (unknown version)"
            self.store.put("tool", key, version)
        with self._lock:
            self._versions[name] = version
        return version

    def probe_master(self, path: Path, content_id: str | None = None) -> MediaInfo:
        """probe() for a master, refusing an empty file first (ffprobe's own message for it is cryptic)."""
        if path.stat().st_size == 0:
            raise MediaError("empty file (0 bytes)", file=str(path), hint="export or copy the master again")
        return self.probe(path, content_id)

    def probe(self, path: Path, content_id: str | None = None) -> MediaInfo:
        """ffprobe's facts about `path` (whose content id the caller may know already)."""
        key = key_of("probe", content_id or self.id(path), code_digest(__name__), self.tool("ffprobe"))
        cached = self.store.get("probe", key)
        if isinstance(cached, dict):
            try:
                return MediaInfo(**{**cached, "path": path, "size": path.stat().st_size})
            except TypeError:
                pass
        info = ffmpeg.probe(path)
        self.store.put("probe", key, {k: v for k, v in asdict(info).items() if k != "path"})
        return info
