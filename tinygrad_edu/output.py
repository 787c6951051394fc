"""Writing output files: one way, with clear errors, never half a file.

Every file the package writes (model files, metrics, pictures, pages,
texts) goes through :func:`write_atomically`. It first calls
:func:`prepare_output_path`, which creates the parent folder and refuses a path
that cannot be a file, with a message naming the path and the fix. The data
then goes to a temporary file in the same folder, is forced to disk, and only
then is renamed over the target (``os.replace``): readers see the old file or
the whole new one, never a part, even if the program is killed mid-write.

A path that exists but is not a regular file (a symbolic link, a device such
as ``/dev/null``, a FIFO, a folder) is refused, never replaced. A temporary
file left behind by a program killed mid-save is removed by the next save to
the same file.
"""

import os
import stat
import tempfile
from pathlib import Path

__all__ = ["OutputError", "prepare_output_path", "write_atomically",
           "refuse_non_regular", "same_file", "check_name_length"]


class OutputError(ValueError):
    """A file could not be written where it was asked to go."""


def _refuse(path, reason):
    return OutputError(f"cannot write {path}: {reason}; choose another path")


# The longest file name and path most file systems take (Linux: 255 bytes for
# one name, 4096 for a whole path); asked of the system where it can say.
NAME_MAX = 255
PATH_MAX = 4096

# What a path that exists but is not a plain file is, for the error message.
_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def _kind_of(path):
    """None if ``path`` is missing or a regular file, else what it is instead."""
    try:
        mode = os.lstat(path).st_mode           # lstat: a symlink is not followed
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise _refuse(path, error.strerror or str(error)) from None
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def refuse_non_regular(path):
    """Raise ``OutputError`` if ``path`` exists and is not a regular file.

    Replacing a symbolic link, a device (``/dev/null``, ``/dev/full``), a FIFO
    or a folder with a plain file would destroy something the user never
    meant to give away, so we refuse them all.
    """
    kind = _kind_of(path)
    if kind == "a folder":
        raise _refuse(path, "it is a folder, not a file")
    if kind is not None:
        raise _refuse(path, f"it is {kind}, not a regular file, and will not "
                            f"be replaced")


def check_name_length(path):
    """Raise ``OutputError`` if a name in ``path`` (the file's or a folder's)
    or the whole path is longer than the file system allows."""
    path = Path(path)
    name_max, path_max = NAME_MAX, PATH_MAX
    try:                            # the limits of the nearest existing folder
        existing = next(p for p in Path(os.path.abspath(path)).parents
                        if len(os.fsencode(p.name)) <= NAME_MAX and p.is_dir())
        name_max = os.pathconf(existing, "PC_NAME_MAX")
        path_max = os.pathconf(existing, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError, StopIteration):
        pass
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > name_max:
            which = "the file name" if part == path.name else f"the folder name {part[:20]}..."
            raise _refuse(path, f"{which} is {size} bytes long, and the limit "
                                f"is {name_max}")
    if len(os.fsencode(os.path.abspath(path))) > path_max:
        raise _refuse(path, f"the path is longer than the limit of {path_max} bytes")


def _check_folder_writable(path):
    """Create (and at once delete) a hidden file in ``path``'s folder: the
    only sure test that files can be made there (``os.access`` says yes to
    root even on a read-only file system)."""
    try:
        handle, probe = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path),
                                         suffix=".tmp")
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        raise _refuse(path, f"files cannot be created in the folder "
                            f"{path.parent} ({error.strerror or error})") from None


def prepare_output_path(path, try_folder=True):
    """Make ``path`` ready to be written; return it as a ``Path``.

    Creates the parent folder if needed (with ``try_folder``, only to try it:
    folders made for the try are removed again). Raises ``OutputError`` if ``path`` is
    a folder, a symbolic link, a device, a FIFO or a socket, if its name is
    too long, if a parent is a file, or if files cannot be created in its
    folder (found by creating and deleting a hidden file there, unless
    ``try_folder`` is False). Call it before long work, so a bad path fails
    at once.
    """
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise _refuse(path, "it is a folder, not a file")
    check_name_length(path)
    folder = path.parent
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise _refuse(path, f"{parent} is a file, not a folder")
    refuse_non_regular(path)
    missing = [f for f in (folder, *folder.parents) if not f.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _remove_empty_folders(missing)
        raise _refuse(path, f"cannot create the folder {folder} "
                            f"({error.strerror or error})") from None
    if try_folder:
        try:
            _check_folder_writable(path)
        finally:
            # A check leaves no trace: a run that stops before it writes (a
            # training that diverges) leaves no empty folders behind.
            # ``write_atomically`` makes them again when it writes.
            _remove_empty_folders(missing)
    return path


def _remove_empty_folders(folders):
    """Remove those of ``folders`` (innermost first) that exist and are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break                   # not empty (or not ours to remove): stop


def same_file(first, second):
    """True if the paths ``first`` and ``second`` name one file (or would)."""
    try:
        if os.path.samefile(first, second):
            return True
    except OSError:
        pass                        # one of them does not exist (yet)
    return os.path.realpath(first) == os.path.realpath(second)


def write_atomically(path, data):
    """Replace the file ``path`` with ``data`` (text or bytes) in one step.

    Returns the path. Raises ``OutputError`` if it cannot be written; a
    failure or interruption midway leaves the old file as it was.
    """
    path = prepare_output_path(path, try_folder=False)   # writing is the try
    if isinstance(data, str):
        data = data.encode("utf-8")
    _remove_stale_temporaries(path)
    try:
        _replace(path, data)
    except OSError as error:
        raise _refuse(path, error.strerror or str(error)) from None
    _sync_folder(path.parent)
    return path


# Temporary files are named ``.NAME.PID.RANDOM.tmp`` (NAME cut short if long,
# so the temporary's own name stays within the limit), beside the target.
_TEMP_NAME_CHARS = 100


def _temp_prefix(path):
    return f".{path.name[:_TEMP_NAME_CHARS]}.{os.getpid()}."


def _remove_stale_temporaries(path):
    """Delete temporaries for ``path`` that a killed program left behind.

    A temporary is stale when the process whose number is in its name is no
    longer running; one still running (another save to the same file) is
    left alone.
    """
    prefix = f".{path.name[:_TEMP_NAME_CHARS]}."
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid_text = name[len(prefix):].split(".", 1)[0]
        if pid_text.isdigit() and not _process_alive(int(pid_text)):
            try:
                os.remove(path.parent / name)
            except OSError:
                pass


def _process_alive(pid):
    if os.name != "posix":
        return True                 # elsewhere os.kill would end the process
    try:
        os.kill(pid, 0)             # signal 0: only asks whether it exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True                 # someone else's process, or cannot tell
    return True


def _replace(path, data):
    """Write ``data`` to a temporary file beside ``path``, then rename it."""
    # The temporary file must be in the same folder: os.replace is only
    # atomic within one file system. mkstemp creates it with O_EXCL, so it
    # never follows a link someone planted under its name.
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path),
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            _write_chunks(file, data)
            file.flush()
            os.fsync(file.fileno())         # the bytes are on disk ...
        os.chmod(temp_name, _file_mode(path))
        refuse_non_regular(path)            # checked again just before the rename
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
