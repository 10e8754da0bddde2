"""Read PyTorch .pth / .pt files into numpy arrays, without importing torch.

The export runs where torch may be absent, so the weights are read straight from torch.save's
on-disk formats:

- zip (torch >= 1.6): `<archive>/data.pkl` plus one raw file per storage, `<archive>/data/<key>`;
- legacy (before 1.6, still used by many published weights, EfficientNet-Lite0's included): a
  stream of pickles - magic number, protocol version, system info, the object, the storage keys -
  followed by each storage as an int64 element count and its raw bytes.

In both, tensors are pickled as calls to `torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, ...)` and storages as persistent ids. The unpickler below resolves those few names to numpy
and refuses every other global, so a file cannot run code while it is read (the same idea as
torch.load(weights_only=True)).
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

# torch's legacy format starts with this number, pickled (torch/serialization.py MAGIC_NUMBER).
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001

# numpy has no bfloat16: those storages are read as uint16 and widened to float32 exactly.
_BFLOAT16 = "bfloat16"

_STORAGE_DTYPES: dict[str, np.dtype | str] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": _BFLOAT16,
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class _StorageType:
    """Stands in for `torch.FloatStorage` and friends inside the pickle."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]

    @property
    def itemsize(self) -> int:
        return 2 if self.dtype == _BFLOAT16 else self.dtype.itemsize

    def from_bytes(self, raw: bytes | memoryview) -> np.ndarray:
        if self.dtype == _BFLOAT16:
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            return bits.view(np.float32)
        return np.frombuffer(raw, dtype=self.dtype)


class _Storage:
    """A storage whose bytes may arrive after the pickle (legacy format): tensors point at it and
    are materialised once every storage is filled."""

    def __init__(self, kind: _StorageType, numel: int) -> None:
        self.kind = kind
        self.numel = numel
        self.array: np.ndarray | None = None


class _PendingTensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), stride


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored) -> _PendingTensor:
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    return data


def _ordered_dict(*args):
    return collections.OrderedDict(*args)


_ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,  # torch < 1.0
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.nn.parameter", "Parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(
        self, file, path: str, storages: dict[str, _Storage], read_storage: Callable | None
    ) -> None:
        super().__init__(file)
        self._path = path
        self._storages = storages
        self._read_storage = read_storage  # zip format: bytes are readable right away

    def find_class(self, module: str, name: str):
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        raise ValueError(
            f"{self._path}: refusing to unpickle {module}.{name}; only tensors, parameters and "
            "dicts of them can be read without torch"
        )

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or _text(pid[0]) != "storage":
            raise ValueError(f"{self._path}: unsupported persistent id {pid!r:.80}")
        kind, key, _location, numel = pid[1], _text(pid[2]), pid[3], pid[4]
        if not isinstance(kind, _StorageType):
            raise ValueError(f"{self._path}: storage {key} has unknown type {kind!r}")
        if len(pid) > 5 and pid[5] is not None:
            raise ValueError(f"{self._path}: storage views (torch < 0.4 files) are not supported")
        if key not in self._storages:
            storage = _Storage(kind, int(numel))
            if self._read_storage is not None:
                storage.array = kind.from_bytes(self._read_storage(key))
            self._storages[key] = storage
        return self._storages[key]


def _text(value) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _materialise(obj, path: str):
    """Replace every pending tensor, at any depth of dicts/lists/tuples, by a numpy array."""
    if isinstance(obj, _PendingTensor):
        data = obj.storage.array
        if data is None or data.size != obj.storage.numel:
            raise ValueError(f"{path}: a tensor's storage is missing or truncated")
        if not obj.size:
            return np.array(data[obj.offset], dtype=data.dtype)
        last = obj.offset + sum((n - 1) * s for n, s in zip(obj.size, obj.stride, strict=True))
        if min(obj.size) > 0 and last >= data.size:
            raise ValueError(f"{path}: a tensor reaches past the end of its storage")
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[obj.offset :],
            shape=obj.size,
            strides=tuple(s * item for s in obj.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view)
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _materialise(v, path)
        return out
    if isinstance(obj, list | tuple):
        return type(obj)(_materialise(v, path) for v in obj)
    return obj


def _load_zip(path: str) -> Any:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if not pkl:
            raise ValueError(f"{path}: a zip file without <archive>/data.pkl is not a torch file")
        root = pkl[0].split("/")[0]
        order = f"{root}/byteorder"
        if order in names and zf.read(order).decode().strip() != "little":
            raise ValueError(f"{path}: big-endian torch files are not supported")

        def read_storage(key: str) -> bytes:
            member = f"{root}/data/{key}"
            if member not in names:
                raise ValueError(f"{path}: storage {member} is missing from the archive")
            return zf.read(member)

        storages: dict[str, _Storage] = {}
        obj = _Unpickler(io.BytesIO(zf.read(pkl[0])), path, storages, read_storage).load()
    return _materialise(obj, path)


def _load_legacy(path: str) -> Any:
    with open(path, "rb") as f:
        try:
            magic = pickle.load(f)
        except Exception as e:
            raise ValueError(f"{path}: not a PyTorch file (neither zip nor legacy pickle)") from e
        if magic != _LEGACY_MAGIC:
            raise ValueError(f"{path}: not a PyTorch file (bad magic number)")
        if pickle.load(f) != _LEGACY_PROTOCOL:
            raise ValueError(f"{path}: unsupported legacy torch protocol version")
        sys_info = pickle.load(f)
        if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
            raise ValueError(f"{path}: big-endian torch files are not supported")
        storages: dict[str, _Storage] = {}
        obj = _Unpickler(f, path, storages, None).load()
        keys = pickle.load(f)
        for key in keys:
            storage = storages.get(_text(key))
            if storage is None:
                raise ValueError(f"{path}: storage {key} is listed but never used")
            head = f.read(8)
            if len(head) != 8:
                raise ValueError(f"{path}: file ends inside storage {key}")
            (numel,) = struct.unpack("<q", head)
            if numel != storage.numel:
                raise ValueError(
                    f"{path}: storage {key} holds {numel} elements, the pickle says {storage.numel}"
                )
            raw = f.read(numel * storage.kind.itemsize)
            if len(raw) != numel * storage.kind.itemsize:
                raise ValueError(f"{path}: file ends inside storage {key}")
            storage.array = storage.kind.from_bytes(raw)
    return _materialise(obj, path)


def load(path: str | os.PathLike) -> Any:
    """The object torch.save wrote, with every tensor as a numpy array (bfloat16 as float32)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    if zipfile.is_zipfile(path):
        return _load_zip(path)
    return _load_legacy(path)


def load_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A state dict saved with torch.save, as {name: numpy array}, in the file's order."""
    obj = load(path)
    if not isinstance(obj, dict):
        raise ValueError(f"{os.fspath(path)}: holds a {type(obj).__name__}, not a state dict")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, np.ndarray)]
    if bad:
        raise ValueError(
            f"{os.fspath(path)}: entry {bad[0]!r} is not a tensor; load() reads nested checkpoints"
        )
    return dict(obj)
