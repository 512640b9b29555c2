"""``arena export``: a store's results as tables, one csv or parquet file per frame, money exact.

The store is opened read-only, as ``arena report`` opens it: no writer lock is taken, so an export runs
beside a simulation that is still writing the file, and sees the log as of its first read. The frames
are built in one pass of the shared fold (``actors.frames``) and written all or nothing
(``actors.write_frames``): a bad option, an unreadable store or a failed write leaves ``--out`` as it was.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from actors import FRAMES, frames, write_frames
from events import ValidationError

if TYPE_CHECKING:
    import argparse

__all__ = ["export", "frame_names"]


def export(args: argparse.Namespace) -> int:
    """Write the frames of the store at ``args.path`` to ``args.out``, one file per frame; return 0.

    Raises:
        ValidationError: ``--frames`` names no frame or an unknown one; ``--out`` is a file, has no
            parent folder, or already holds a file of the same name (without ``--force``).
        StoreError: DB is not a readable store.
        ArenaError: pandas or pyarrow is not installed.

    """
    names = frame_names(args.frames)
    tables = frames(args.path, names)
    written = write_frames(tables, args.out, file_format=args.file_format, replace=args.force)
    lines = (f"wrote {path} ({len(tables[path.stem])} rows)\n" for path in written)
    sys.stdout.write("".join(lines))
    return 0


def frame_names(text: str | None) -> tuple[str, ...]:
    """Return the frames ``--frames`` names (every frame if None), in the order ``FRAMES`` lists them.

    Raises:
        ValidationError: the list is empty, or names an unknown frame.

    """
    if text is None:
        return FRAMES
    names = [name.strip() for name in text.split(",")]
    known = ",".join(FRAMES)
    if not any(names):
        msg = f"--frames: {text!r} names no frame; pass a comma-separated list such as {known}"
        raise ValidationError(msg, field="--frames", value=text)
    for name in names:
        if name not in FRAMES:
            msg = f"--frames: {name!r} is not a frame; pass a comma-separated list of {known}"
            raise ValidationError(msg, field="--frames", value=text)
    return tuple(name for name in FRAMES if name in names)
