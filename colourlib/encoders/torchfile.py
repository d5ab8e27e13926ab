"""Read a PyTorch weights file (``state_dict``) into NumPy arrays without PyTorch and without running its pickle.

A ``.pth`` file is a pickle, and unpickling can call any Python function the file names: loading an untrusted
one with plain ``pickle`` (or ``torch.load`` without ``weights_only``) runs whatever it asks. This reader admits
only what a tensor needs (an ordered dict, the tensor-rebuild function, the storage types) and refuses anything
else by name. Both of PyTorch's formats are read: the older one (a series of pickles followed by raw storage
bytes, as the EfficientNet-Lite0 file is) and the zip archive of PyTorch 1.6 and later.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import ColourlibError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


#: The largest tensor this reader makes (EfficientNet-Lite0's largest is 5 MB); a file asking for more is refused
#: before any memory is taken.
MAX_TENSOR_BYTES = 1 << 30


class WeightsFileError(ColourlibError, ValueError):
    """A file that is not a PyTorch weights file, or one that asks to run code; the message names the file."""


@dataclass
class _Storage:
    key: str
    dtype: type
    data: np.ndarray | None = None


@dataclass
class _TensorRef:
    storage: _Storage
    offset: int
    shape: tuple
    stride: tuple

    def array(self) -> np.ndarray:
        if not isinstance(self.storage, _Storage):
            raise WeightsFileError(
                f"a tensor's storage is a {type(self.storage).__name__}, not a storage"
            )
        data = self.storage.data
        if data is None:
            raise WeightsFileError(f"storage {self.storage.key} was never filled")
        self.check(len(data), data.itemsize)
        if 0 in self.shape:
            return np.zeros(self.shape, dtype=data.dtype)
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :], shape=self.shape, strides=[s * data.itemsize for s in self.stride]
        )
        return np.ascontiguousarray(
            view
        ).copy()  # a contiguous copy, independent of the file buffer

    def check(self, storage_length: int, itemsize: int) -> None:
        """Refuse a tensor whose shape, strides or offset would read outside its storage, or that is too big:
        a view is made only from what this proves to lie inside the file's own bytes."""
        where = (
            f"a tensor of storage {self.storage.key} (shape {self.shape}, stride {self.stride}, offset "
            f"{self.offset})"
        )
        numbers = (self.offset, *self.shape, *self.stride)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in numbers) or len(
            self.shape
        ) != len(self.stride):
            raise WeightsFileError(
                f"{where}: shape, stride and offset must be integers of matching rank"
            )
        if self.offset < 0 or any(n < 0 for n in self.shape) or any(s < 0 for s in self.stride):
            raise WeightsFileError(
                f"{where}: negative sizes, strides or offsets would read outside the file"
            )
        if self.offset > storage_length or any(s > storage_length for s in self.stride):
            raise WeightsFileError(
                f"{where}: a stride or offset beyond its storage ({storage_length} elements)"
            )
        count = int(np.prod(self.shape, dtype=object))
        if count * itemsize > MAX_TENSOR_BYTES:
            raise WeightsFileError(
                f"{where}: {count * itemsize} bytes is more than the {MAX_TENSOR_BYTES} this "
                "reader makes for one tensor"
            )
        if (
            count
            and self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride)) + 1
            > storage_length
        ):
            raise WeightsFileError(
                f"{where}: reaches past the end of its storage ({storage_length} elements)"
            )


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, *_ignored):
    return data


class _StorageType:
    def __init__(self, name: str):
        self.name, self.dtype = name, STORAGE_DTYPES[name]


ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in STORAGE_DTYPES},
}


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, file, path: Path, storage_loader=None):
        super().__init__(file)
        self.path, self.storages, self.storage_loader = path, {}, storage_loader

    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]
        raise WeightsFileError(
            f"{self.path}: the file asks to call {module}.{name}, which a weights file never "
            "needs; refusing to load it (it may run code). Fix: use a state_dict saved by "
            "torch.save(model.state_dict(), ...), from a source you trust."
        )

    def persistent_load(self, pid):
        if not (
            isinstance(pid, tuple)
            and pid
            and pid[0] == "storage"
            and isinstance(pid[1], _StorageType)
        ):
            raise WeightsFileError(f"{self.path}: unexpected persistent reference {pid!r:.80}")
        key = str(pid[2])
        if key not in self.storages:
            self.storages[key] = _Storage(key, pid[1].dtype)
            if self.storage_loader is not None:
                self.storages[key].data = self.storage_loader(key, pid[1].dtype)
        return self.storages[key]


class _HeaderUnpickler(pickle.Unpickler):
    """The legacy format's header pickles hold plain numbers, strings, lists and dicts only."""

    def find_class(self, module, name):
        raise WeightsFileError(f"header asks for {module}.{name}")


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Name -> array of every tensor in a PyTorch ``state_dict`` file, read without executing it."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            state = _read_zip(path)
        else:
            with path.open("rb") as f:
                state = _read_legacy(f, path)
    except WeightsFileError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        struct.error,
        ValueError,
        KeyError,
        IndexError,
        TypeError,
    ) as exc:
        raise WeightsFileError(
            f"{path}: not a readable PyTorch weights file ({type(exc).__name__}: {exc})."
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, _TensorRef) for v in state.values()):
        raise WeightsFileError(
            f"{path}: expected a state_dict (names -> tensors), found {type(state).__name__}."
        )
    try:
        return {name: ref.array() for name, ref in state.items()}
    except (OverflowError, ValueError, TypeError, MemoryError) as exc:
        if isinstance(exc, WeightsFileError):
            raise
        raise WeightsFileError(
            f"{path}: a tensor cannot be read ({type(exc).__name__}: {exc})."
        ) from None


def _read_legacy(f, path: Path):
    header = _HeaderUnpickler(f)
    if header.load() != LEGACY_MAGIC:
        raise WeightsFileError(f"{path}: not a PyTorch weights file (wrong magic number).")
    if header.load() != LEGACY_PROTOCOL:
        raise WeightsFileError(f"{path}: unsupported PyTorch file protocol.")
    sys_info = header.load()
    if not sys_info.get("little_endian", True):
        raise WeightsFileError(
            f"{path}: saved on a big-endian machine, which this reader does not support."
        )
    unpickler = _SafeUnpickler(f, path)
    state = unpickler.load()
    keys = _HeaderUnpickler(f).load()
    for key in keys:
        storage = unpickler.storages[str(key)]
        (count,) = struct.unpack("<q", f.read(8))
        size = count * np.dtype(storage.dtype).itemsize
        left = path.stat().st_size - f.tell()
        if count < 0 or size > left:
            raise WeightsFileError(
                f"{path}: the file ends inside storage {key} ({count} elements claimed, {left} "
                "bytes left: a truncated download, or not a weights file)."
            )
        raw = f.read(size)
        if len(raw) != size:
            raise WeightsFileError(
                f"{path}: the file ends inside storage {key} (truncated download?)."
            )
        storage.data = np.frombuffer(raw, dtype=storage.dtype)
    return state


def _read_zip(path: Path):
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise WeightsFileError(
                f"{path}: a zip archive without data.pkl, so not a PyTorch weights file."
            )
        prefix = pickles[0][: -len("data.pkl")]

        def load(key: str, dtype) -> np.ndarray:
            return np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype=dtype)

        return _SafeUnpickler(io.BytesIO(archive.read(pickles[0])), path, load).load()
