"""Writing files so that a kill at any moment leaves either the old file or the new one, never a torn one.

Every file goes first to a temporary name in the same folder, unique to the writing process
(``.NAME.<pid>.partial<suffixes>``), is flushed to disk, and only then renamed over its final name; the folder is
synced so the rename itself survives a power cut. The suffixes are kept so writers that insist on them (Keras:
``.weights.h5``) accept the temporary name.

:func:`fault_point` marks the moments the crash-safety test kills a process at (``COLOURLIB_KILL_AT``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
from pathlib import Path

from . import ColourlibError

#: The errors of a write that the person can fix (a full or read-only disk, no permission), as opposed to bugs.
CANNOT_WRITE = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS)


class FolderInUseError(ColourlibError, RuntimeError):
    """Another process holds the folder's lock; the message names its PID and the fix."""


#: The test's fault injection: ``NAME#N`` kills this process with SIGKILL the N-th time point NAME is reached.
KILL_AT = "COLOURLIB_KILL_AT"
_reached: dict[str, int] = {}


def fault_point(name: str) -> None:
    """A moment where a real crash could happen; the fault-injection test kills the process here."""
    wanted = os.environ.get(KILL_AT)
    if not wanted:
        return
    point, _, count = wanted.partition("#")
    if point == name:
        _reached[name] = _reached.get(name, 0) + 1
        if _reached[name] == int(count or 1):
            os.kill(os.getpid(), signal.SIGKILL)


def partial_name(path: Path) -> Path:
    """The temporary name ``path`` is written under: in its folder, hidden, unique to this process."""
    path = Path(path)
    suffixes = "".join(path.suffixes)
    stem = path.name[: len(path.name) - len(suffixes)] if suffixes else path.name
    return path.with_name(f".{stem}.{os.getpid()}.partial{suffixes}")


def stale_partials(folder: Path, recursive: bool = False) -> list[Path]:
    """Temporary files in ``folder`` whose writer is no longer alive (a kill left them); a live writer's stay."""
    found = []
    for path in (Path(folder).rglob if recursive else Path(folder).glob)(".*.partial*"):
        parts = path.name.split(".")
        pid = parts[parts.index("partial") - 1] if "partial" in parts[2:] else ""
        if not pid.isdigit() or not _alive(int(pid)):
            found.append(path)
    return found


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(
        OSError
    ):  # some file systems cannot open a folder; the rename still happened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def replacing(path: str | Path, kind: str = "file", verify=None):
    """Yields a temporary path to write ``path``'s new content to; on success it replaces ``path`` atomically,
    on failure it is removed and ``path`` keeps its old content. ``kind`` names the fault points around it;
    ``verify(tmp)``, if given, reads the written file back and raises if it is not whole (a writer that did not
    notice a full disk), before anything is put in place."""
    path = Path(path)
    tmp = partial_name(path)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if verify is not None:
            verify(tmp)
        fault_point(f"write:{kind}")  # the new content is complete but not yet in place
        os.replace(tmp, path)
        _sync_folder(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes, kind: str = "file") -> Path:
    """Write ``data`` as ``path`` atomically, with every write checked: the content is encoded in memory first,
    and the temporary file must hold exactly ``len(data)`` bytes on disk before it is renamed into place. Some
    writers (Pillow's JPEG encoder) raise nothing when the disk fills mid-file; this way a full disk is an
    ``OSError`` (ENOSPC), never a short file put in place as if it were whole."""
    with replacing(path, kind) as tmp, open(tmp, "wb") as f:
        view = memoryview(data)
        while view:
            written = os.write(f.fileno(), view)  # raises OSError(ENOSPC) on a full disk
            view = view[written:]
        size = os.fstat(
            f.fileno()
        ).st_size  # flushed to disk by replacing(), which raises if that fails
        if size != len(data):
            raise OSError(
                errno.ENOSPC,
                f"wrote {size} of {len(data)} bytes (the disk is full?)",
                str(path),
            )
    return Path(path)


def h5_complete(path: Path) -> None:
    """Read every dataset of the HDF5 file ``path`` back (a weights file: tens of MB from the page cache, a few
    tens of ms); raise ``OSError`` (ENOSPC, the usual cause) if it is truncated or unreadable."""
    import h5py

    def read(name, obj) -> None:
        if isinstance(obj, h5py.Dataset):
            obj[()]

    try:
        with h5py.File(path, "r") as f:
            f.visititems(read)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise OSError(
            errno.ENOSPC,
            f"the weights written cannot be read back, is the disk full? ({exc})",
            str(path),
        ) from None


def write_text(path: str | Path, text: str, kind: str = "file") -> Path:
    return write_bytes(path, text.encode("utf-8"), kind)


def write_json(path: str | Path, value, kind: str = "file") -> Path:
    return write_text(path, json.dumps(value, indent=2) + "\n", kind)


@contextlib.contextmanager
def exclusive_lock(lock_file: Path, what: str, busy: str | None = None):
    """Hold an exclusive ``flock`` on ``lock_file`` (the kernel drops it when the process dies, so a crash never
    leaves a stale lock); refuse at once, naming the holder's PID, if another process holds it. The file is
    removed when the block ends, so nothing is left in the user's folders; a process that locked the file just
    as it was removed sees that its inode is no longer the path's and locks the new file instead. ``busy`` words
    the refusal otherwise (``{what}``, ``{holder}``: the holder's PID)."""
    lock_file = Path(lock_file)
    while True:
        handle = open(lock_file, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            busy = busy or (
                "{what} is being written by another process (PID {holder}). Fix: wait for it "
                "to finish, or stop it, then run this command again."
            )
            raise FolderInUseError(busy.format(what=what, holder=holder)) from None
        try:
            current = os.stat(lock_file).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        handle.close()  # its holder removed it after we opened it: lock the path's new file
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_file.unlink()  # while still holding the lock: no one can be holding the new one yet
        handle.close()
