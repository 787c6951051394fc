"""Writing output files: one way, with clear errors, never half a file.

Every file the package writes (model files, metrics, pictures, pages,
texts) goes through :func:`write_atomically`. It first calls
:func:`prepare_output_path`, which creates the parent folder and refuses a path
that cannot be a file, with a message naming the path and the fix. The data
then goes to a temporary file in the same folder, is forced to disk, and only
then is renamed over the target (``os.replace``): readers see the old file or
the whole new one, never a part, even if the program is killed mid-write.
"""

import os
import tempfile
from pathlib import Path

__all__ = ["OutputError", "prepare_output_path", "write_atomically"]


class OutputError(ValueError):
    """A file could not be written where it was asked to go."""


def _refuse(path, reason):
    return OutputError(f"cannot write {path}: {reason}; choose another path")


def prepare_output_path(path):
    """Make ``path`` ready to be written; return it as a ``Path``.

    Creates the parent folder if needed. Raises ``OutputError`` if ``path`` is
    a folder, if a parent is a file, or if the folder cannot be created or
    written in. Call it before long work, so a bad path fails at once.
    """
    path = Path(path)
    if path.is_dir():
        raise _refuse(path, "it is a folder, not a file")
    folder = path.parent
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise _refuse(path, f"{parent} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _refuse(path, f"cannot create the folder {folder} "
                            f"({error.strerror or error})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _refuse(path, f"the folder {folder} is not writable")
    return path


def write_atomically(path, data):
    """Replace the file ``path`` with ``data`` (text or bytes) in one step.

    Returns the path. Raises ``OutputError`` if it cannot be written; a
    failure or interruption midway leaves the old file as it was.
    """
    path = prepare_output_path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        _replace(path, data)
    except OSError as error:
        raise _refuse(path, error.strerror or str(error)) from None
    _sync_folder(path.parent)
    return path


def _replace(path, data):
    """Write ``data`` to a temporary file beside ``path``, then rename it."""
    # The temporary file must be in the same folder: os.replace is only
    # atomic within one file system.
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            _write_chunks(file, data)
            file.flush()
            os.fsync(file.fileno())         # the bytes are on disk ...
        os.chmod(temp_name, _file_mode(path))
        os.replace(temp_name, path)         # ... before the name points at them
    except BaseException:
        if os.path.exists(temp_name):
            os.remove(temp_name)
        raise


def _write_chunks(file, data, chunk_size=65536):
    """Write ``data`` in pieces (a test interrupts this midway)."""
    for start in range(0, len(data), chunk_size):
        file.write(data[start:start + chunk_size])


def _file_mode(path):
    """The old file's permissions, or those a new file normally gets.

    ``mkstemp`` makes a private file (0600); without this a picture or model
    would become unreadable to other users when it replaces a file.
    """
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_folder(folder):
    """Make the rename itself durable, where the system allows it."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return                              # e.g. Windows: folders cannot be opened
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
