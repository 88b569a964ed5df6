"""A saved model's folder on disk: replaced atomically, read as one consistent snapshot.

Writing (:func:`write_folder`) fills a fresh temporary folder beside the target, flushes it to
disk, then swaps it into place in one step (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two
renames) and only then removes the old folder. A crash, a full disk or a kill at any moment
leaves the old folder or the new one under the target's name, never a mix; an interrupted
write leaves at most a hidden ``.<name>.saving-*`` folder beside it. :func:`write_file` does the
same for one file (a config, a picture) with a temporary file and ``os.replace``.

Reading (:func:`read_folder`) opens the folder once and reads every file relative to that
handle, so all files come from the same folder even while a writer replaces it; a read that
loses the race (the folder it opened was removed under it) starts again. Only regular files
named plainly inside the folder are read: no ``..``, no absolute path, no FIFO or device, and
no symlink, except where the caller names a root the links must stay inside (the Hugging Face
cache stores a snapshot's files as symlinks into its ``blobs/`` folder, see :mod:`obsnets.hub`).
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from obsnets.errors import ConfigError

__all__ = [
    "FolderReader",
    "check_file_name",
    "new_folder",
    "read_folder",
    "unreplaceable_contents",
    "write_file",
    "write_folder",
]

T = TypeVar("T")

_READ_ATTEMPTS = 5
_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


def check_file_name(name: object, where: str) -> str:
    """Return ``name`` if it names a file directly inside a folder, else raise.

    Args:
        name: The file name read from a config.
        where: The field and file it was read from, for the message.

    Raises:
        ConfigError: ``name`` is not a string, is empty, ``.`` or ``..``, or holds a path
            separator or NUL (an absolute path or one leading out of the folder).
    """
    if (
        not isinstance(name, str)
        or name in {"", ".", ".."}
        or any(c in name for c in ("/", "\\", "\0"))
    ):
        raise ConfigError(
            f"{where} must be the plain name of a file inside the model folder (e.g. "
            f"'model.safetensors'); got {name!r}."
        )
    return name


class FolderReader:
    """Reads files of one opened folder (see :func:`read_folder`)."""

    def __init__(self, path: Path, fd: int, symlinks_within: Path | None = None) -> None:
        self.path = path
        self._fd = fd
        self._symlinks_within = symlinks_within

    def read(self, name: str, limit: int) -> bytes:
        """Read file ``name`` of the folder.

        Args:
            name: A plain file name (checked with :func:`check_file_name`).
            limit: The most bytes the file may hold.

        Raises:
            FileNotFoundError: there is no such file.
            ConfigError: it is a symlink (one whose real path leaves the allowed root, where
                one was given), a FIFO, a device or another non-regular file, or larger than
                ``limit``.
        """
        check_file_name(name, f"file name in {str(self.path)!r}")
        where = str(self.path / name)
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=self._fd)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            if self._symlinks_within is None:
                raise ConfigError(
                    f"{where!r} is a symlink; a saved model's files must be regular files "
                    f"inside its folder."
                ) from exc
            fd = self._open_link(name, where, self._symlinks_within)
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(f"{where!r} is not a regular file (a FIFO, device or folder).")
            if info.st_size > limit:
                raise ConfigError(f"{where!r} holds {info.st_size:,} bytes, more than {limit:,}.")
            os.set_blocking(file.fileno(), True)
            return file.read()

    def _open_link(self, name: str, where: str, root: Path) -> int:
        """Open the file the symlink ``name`` leads to, if its real path is inside ``root``."""
        # The link is read from the opened folder, so it is the one this snapshot holds.
        link = os.readlink(name, dir_fd=self._fd)
        target = os.path.realpath(os.path.join(os.path.realpath(self.path), link))
        allowed = os.path.realpath(root)
        if os.path.commonpath([allowed, target]) != allowed:
            raise ConfigError(
                f"{where!r} is a symlink to {target!r}, outside {allowed!r}; a downloaded "
                f"model's files must stay inside its cache folder."
            )
        try:
            # realpath resolved every link: one appearing now is refused (ELOOP).
            return os.open(target, _READ_FLAGS)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ConfigError(f"{where!r} changed while it was read: {target!r}.") from exc
            raise


def read_folder(
    path: Path, reader: Callable[[FolderReader], T], *, symlinks_within: Path | None = None
) -> T:
    """Run ``reader`` on one consistent snapshot of the folder at ``path``.

    Args:
        path: The folder.
        reader: Reads what it needs through the :class:`FolderReader` it is given.
        symlinks_within: Let the folder's files be symlinks whose real path is inside this
            folder (a Hugging Face cache repository folder); ``None`` refuses every symlink.

    Returns:
        What ``reader`` returned.

    Raises:
        FileNotFoundError, NotADirectoryError: there is no folder at ``path``, or ``reader``
            asked for a file it does not hold.
    """
    for attempt in range(_READ_ATTEMPTS):
        with _opened(path) as fd:
            try:
                return reader(FolderReader(path, fd, symlinks_within))
            except FileNotFoundError:
                # A writer swapped a new folder in and removed the one we opened: read again.
                if attempt + 1 == _READ_ATTEMPTS or not _replaced(path, fd):
                    raise
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def _opened(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        yield fd
    finally:
        os.close(fd)


def _replaced(path: Path, fd: int) -> bool:
    opened = os.fstat(fd)
    try:
        now = os.stat(path)
    except OSError:
        return True
    return (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino)


def unreplaceable_contents(target: Path, own_files: Collection[str], kind: str) -> str | None:
    """Why ``target`` may not be replaced unless the user says so, or ``None`` if it may.

    ``target`` may be replaced when it is absent, an empty folder, or a folder holding only
    files the writer itself writes (an earlier save of the same kind).

    Args:
        target: The folder about to be replaced (symlinks already resolved).
        own_files: Names of the files the writer writes.
        kind: What the writer writes, for the description (``"an obsnets saved model"``).

    Returns:
        ``None``, or what ``target`` holds, to finish the caller's sentence ("it holds ...").
    """
    if not os.path.lexists(target):
        return None
    if not target.is_dir() or target.is_symlink():
        return "something that is not a folder"
    foreign = sorted(set(os.listdir(target)) - set(own_files))
    if not foreign:
        return None
    return f"files that are not part of {kind}: {foreign[:10]}"


def write_folder(target: Path, write: Callable[[Path], None]) -> None:
    """Replace the folder ``target`` (or create it) with what ``write`` puts in a new folder.

    Args:
        target: The folder to create or replace, whatever it holds (the caller decides
            whether that is allowed, see :func:`unreplaceable_contents`). Missing parent
            folders are created.
        write: Writes every file into the empty folder it is given (beside ``target``, on the
            same file system). If it raises, ``target`` is left untouched.

    Raises:
        ConfigError: a parent of ``target`` is a file.
    """
    _make_parent(target)
    staging = new_folder(target.parent, f".{target.name}.saving-")
    try:
        write(staging)
        # Writers may create files as 0600 (temporary-file helpers do); give each the mode any
        # file made here gets: the folder was made 0777 less the umask.
        mode = stat.S_IMODE(staging.stat().st_mode) & 0o666
        for entry in staging.iterdir():
            os.chmod(entry, mode)
            _fsync(entry)
        _fsync(staging)
        old = _swap_in(staging, target)
        _fsync(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        # The new folder is in place; the old one is garbage. Failing to remove it must not
        # report the save as failed.
        shutil.rmtree(old, ignore_errors=True)


def write_file(target: Path, write: Callable[[Path], object]) -> None:
    """Replace the file ``target`` (or create it) with what ``write`` writes to a new file.

    The new file is written beside ``target`` under a hidden temporary name, flushed to disk
    and renamed over ``target`` in one step, so a crash, a full disk or a kill leaves the old
    file or the new one, never half of one; an interrupted write leaves at most a hidden
    ``.<stem>.saving-*<suffix>`` file beside it. The file gets the permissions any file the user
    makes gets (0666 less the umask), whatever ``write`` did to it.

    Args:
        target: The file to create or replace, whatever it holds (the caller decides whether
            that is allowed). Missing parent folders are created.
        write: Writes the whole content to the path it is given, an existing empty file that
            it may truncate or replace (``Path.write_text``, ``PIL.Image.save``). The path ends
            in ``target``'s suffix, for writers that pick the format from it. If ``write``
            raises, ``target`` is left untouched and the temporary file is removed; what it
            returns is ignored.

    Raises:
        ConfigError: a parent of ``target`` is a file.
    """
    _make_parent(target)
    staging = _new_file(target.parent, f".{target.stem}.saving-", target.suffix)
    try:
        # The mode it was created with: 0666 less the umask, read back rather than set with
        # os.umask, which would change it for every thread.
        mode = stat.S_IMODE(staging.stat().st_mode)
        write(staging)
        os.chmod(staging, mode)
        _fsync(staging)
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    _fsync(target.parent)


def _new_file(parent: Path, prefix: str, suffix: str) -> Path:
    """Create an empty file ``parent/<prefix><random><suffix>`` (0666 less the umask; mkstemp
    would make it 0600)."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return path


def _make_parent(target: Path) -> None:
    """Create ``target``'s missing parent folders; ConfigError if one of them is a file."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise ConfigError(
            f"Cannot write {str(target)!r}: {str(exc.filename or target.parent)!r} is a file, "
            "not a folder. Choose another location."
        ) from exc


def new_folder(parent: Path, prefix: str) -> Path:
    """Create a fresh folder ``parent/<prefix><random>`` with the permissions any folder the
    user makes gets (0777 less the umask; ``tempfile.mkdtemp`` would make it 0700)."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            os.mkdir(path, 0o777)  # the umask applies, as for any folder the user makes
        except FileExistsError:
            continue
        return path


def _swap_in(staging: Path, target: Path) -> Path | None:
    """Put ``staging`` at ``target``; return where the old ``target`` now is, if there was one."""
    if not os.path.lexists(target):
        try:
            os.rename(staging, target)
            return None
        except OSError as exc:
            # Someone created it meanwhile (or it is an empty folder another OS refuses to
            # replace): swap instead.
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR):
                raise
    if _exchange(staging, target):
        return staging
    # No atomic exchange here: between these two renames the target is briefly absent (the
    # old model stays complete under the aside name).
    aside = _new_name(target.parent, f".{target.name}.old-")
    os.rename(target, aside)
    os.rename(staging, target)
    return aside


def _new_name(parent: Path, prefix: str) -> Path:
    while True:
        path = parent / f"{prefix}{secrets.token_hex(6)}"
        if not os.path.lexists(path):
            return path


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap ``a`` and ``b``; False where the system cannot."""
    if sys.platform != "linux":
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), ctypes.c_uint(_RENAME_EXCHANGE)
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems cannot sync a folder; the data itself was synced.
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)
