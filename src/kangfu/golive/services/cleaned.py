"""The check's cleaned lines, kept beside the upload for the confirmed import.

Cleaning a line (IDs, dates, codes, names) is pure: the same file, mapping and options give the same
record. The confirmed import still checks every record against the database as it is then, but it
need not read and clean the file a second time, which at a million lines is about a fifth of its
work. The check writes what it cleaned here; the import reads it back only when it was written for
the same job, mapping, options and day, and only when its seal verifies (the file is unpickled, so a
file that this process did not write must never be read). Anything else, and the file is read again.

The file holds what the upload holds, beside it under the same private directory, and is removed
with the job's other working files once the import is done or discarded.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import pickle
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

_LENGTH = struct.Struct(">Q")

# One cleaned line: its number, its values (None when cleaning refused it) and the refusal.
Line = tuple[int, dict[str, Any] | None, str]


def _mac() -> hmac.HMAC:
    key = hashlib.sha256(b"kangfu.golive.cleaned:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def _seal_path(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".seal")


class Writer:
    """Frames of pickled lines; the stamp first, the summary last, the seal in a file beside."""

    def __init__(self, path: Path, stamp: dict[str, Any]):
        self.path = path
        self.mac = _mac()
        remove(path)
        self.handle = open(path, "wb")  # noqa: SIM115 - closed by `close` or `abandon`
        self._frame(stamp)

    def _frame(self, obj: Any) -> None:
        self.write_pickled(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def write(self, lines: list[Line]) -> None:
        """Keep lines as they are now (before the check adds to their values)."""
        if lines:
            self._frame(lines)

    def write_pickled(self, data: bytes) -> None:
        """Keep a frame pickled already (a list of lines, as the cleaning process sends them)."""
        head = _LENGTH.pack(len(data))
        self.handle.write(head)
        self.handle.write(data)
        self.mac.update(head)
        self.mac.update(data)

    def close(self, summary: dict[str, Any]) -> None:
        self._frame({"summary": summary})
        self.handle.close()
        _seal_path(self.path).write_text(self.mac.hexdigest())

    def abandon(self) -> None:
        self.handle.close()
        remove(self.path)


def _sealed(path: Path) -> bool:
    try:
        seal = _seal_path(path).read_text().strip()
        mac = _mac()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                mac.update(block)
    except OSError:
        return False
    return hmac.compare_digest(mac.hexdigest(), seal)


def read(path: Path, stamp: dict[str, Any]) -> tuple[Iterator[Line], dict[str, Any]] | None:
    """The lines and the summary the check wrote for this `stamp`, or None if there are none to
    trust (absent, written for other settings, or not sealed by this installation)."""
    if not _sealed(path):
        return None
    offsets: list[tuple[int, int]] = []  # (start, size) of every frame, read without unpickling
    with open(path, "rb") as handle:
        position = 0
        while head := handle.read(_LENGTH.size):
            (size,) = _LENGTH.unpack(head)
            offsets.append((position + _LENGTH.size, size))
            handle.seek(size, 1)
            position += _LENGTH.size + size
        if len(offsets) < 2:
            return None

        def frame(at: tuple[int, int]) -> Any:
            handle.seek(at[0])
            return pickle.loads(handle.read(at[1]))  # noqa: S301 - sealed by this installation

        if frame(offsets[0]) != stamp:
            return None
        last = frame(offsets[-1])
    if not isinstance(last, dict) or "summary" not in last:
        return None

    def lines() -> Iterator[Line]:
        with open(path, "rb") as handle:
            for start, size in offsets[1:-1]:
                handle.seek(start)
                yield from pickle.loads(handle.read(size))  # noqa: S301 - sealed by this installation

    return lines(), last["summary"]


def remove(path: Path) -> None:
    for each in (path, _seal_path(path)):
        with contextlib.suppress(OSError):
            each.unlink()
