"""File helpers every package shares: sha256, atomic writes, JSON Lines.

Atomic means a reader (or a later run) never sees half a file: the data goes to a temporary file
beside the target, is flushed to disk, and is renamed over it in one step.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from stepdiff.runtime.errors import BadInput


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic_with(path: str | os.PathLike, write: Callable[[str], object]) -> Path:
    """Calls write(tmp_path) on a temporary file beside `path`, then renames it into place.

    For writers that want a file name (cv2.imwrite, np.savez, onnx.save); on any failure the
    target keeps what it had.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent
    )
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Writes text (UTF-8) or bytes to `path` atomically."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return write_atomic_with(path, lambda tmp: Path(tmp).write_bytes(raw))


def write_json(path: str | os.PathLike, obj: object, indent: int | None = 1) -> Path:
    return write_atomic(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def jsonl_text(rows: Iterable[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Writes one JSON object per line, atomically; returns the number of rows."""
    rows = list(rows)
    write_atomic(path, jsonl_text(rows))
    return len(rows)


def read_jsonl(path: str | os.PathLike, missing_hint: str = "") -> list[dict]:
    """Every non-blank line of `path` as a JSON object; BadInput names the line that is not."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a JSON Lines file" if path.is_dir() else "is missing"
        raise BadInput(path, what + (f"; {missing_hint}" if missing_hint else ""))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise BadInput(path, f"is not UTF-8 text (byte {e.start})") from e
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadInput(path, f"line {n} is not valid JSON ({e.msg})") from e
        if not isinstance(row, dict):
            raise BadInput(path, f"line {n} is not a JSON object")
        rows.append(row)
    return rows
