"""Downloads and the torch hub cache, with the semantics of ``torch.hub``'s namesakes.

Pretrained weights live where torchvision users already have them: ``get_dir()/checkpoints``, with
``get_dir()`` = ``$TORCH_HOME/hub`` and ``TORCH_HOME`` defaulting to ``$XDG_CACHE_HOME/torch``, then
``~/.cache/torch``. A file is downloaded once, into a temporary file in the same folder, checked against
the SHA-256 prefix in its name (``vgg16-397923af.pth``: the hash starts with 397923af), and only then moved
into place: an interrupted or corrupted download never leaves a file at the final path.

Set ``MINICNN_OFFLINE=1`` (or pass ``download=False``) to forbid downloads: a missing file is then an
immediate error that names the URL and the path where the file is expected.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from minicnn import settings

HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")  # torch.hub's: the hash prefix in "name-<hash>.ext"
CHUNK = 1 << 20

_hub_dir: str | None = None


class DownloadError(OSError):
    """A download failed (network, server, truncated data, wrong hash); nothing was left at the destination."""


class HashMismatchError(DownloadError):
    """The downloaded (or cached) file's SHA-256 does not start with the prefix its name promises."""


class OfflineError(DownloadError):
    """A file is needed that is not in the cache, and downloads are turned off or impossible."""


def get_dir() -> str:
    """The hub folder: ``set_dir``'s value, else ``$TORCH_HOME/hub``.

    TORCH_HOME defaults to ``$XDG_CACHE_HOME/torch``, then ``~/.cache/torch`` (as torch.hub)."""
    if _hub_dir is not None:
        return _hub_dir
    return os.path.join(settings.torch_home(), "hub")


def set_dir(d) -> None:
    """Use ``d`` as the hub folder from now on (as ``torch.hub.set_dir``)."""
    global _hub_dir
    _hub_dir = os.path.expanduser(str(d))


def downloads_allowed(download: bool | None = None) -> bool:
    """``download`` if given, else False when the environment variable MINICNN_OFFLINE is set to 1/true/yes."""
    if download is not None:
        return download
    return not settings.offline()


def timeout_seconds() -> float:
    """Seconds a connection may stay silent before a download fails (MINICNN_DOWNLOAD_TIMEOUT, default 30)."""
    return settings.download_timeout()


def hash_prefix_of(filename: str) -> str | None:
    """The SHA-256 prefix a file name promises ("resnet50-0676ba61.pth" -> "0676ba61"), if any."""
    m = HASH_REGEX.search(os.path.basename(filename))
    return m.group(1) if m else None


def sha256_of(path, chunk=CHUNK) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


#: A download averaging fewer bytes per second than this over a whole timeout window has stalled.
MIN_BYTES_PER_SECOND = 1024
#: The most a download may write when the server does not say how much it sends (torchvision's largest file is
#: about 1 GB).
MAX_DOWNLOAD_BYTES = 4 << 30


class _Terminated(BaseException):
    """SIGTERM arrived during a download: raised so that the partial file is removed on the way out."""


def download_url_to_file(url: str, dst, hash_prefix: str | None = None, progress: bool = True,
                         max_bytes: int | None = None) -> None:  # fmt: skip
    """Download ``url`` to ``dst`` (as ``torch.hub.download_url_to_file``).

    The data goes to a temporary file beside ``dst``; if ``hash_prefix`` is given, the SHA-256 of the data
    must start with it; only then is the file moved to ``dst``. On any failure the temporary file is removed
    and ``DownloadError`` (``HashMismatchError`` for a wrong hash) is raised; on Ctrl-C or SIGTERM it is removed
    too. A server that stalls (under MIN_BYTES_PER_SECOND over a timeout window), sends more than it announced
    (or than ``max_bytes``, default MAX_DOWNLOAD_BYTES), or speaks broken HTTP is a DownloadError as well.
    """
    dst = os.path.expanduser(str(dst))
    if os.path.isdir(dst):
        raise DownloadError(f"cannot download to {dst}: it is a folder")
    folder = os.path.dirname(os.path.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    tmp = tempfile.NamedTemporaryFile(delete=False, dir=folder, prefix=os.path.basename(dst) + ".", suffix=".partial")
    previous = _on_sigterm()
    try:
        with tmp:
            digest = _fetch(url, tmp, progress, max_bytes or MAX_DOWNLOAD_BYTES)
        if hash_prefix is not None and not digest.startswith(hash_prefix):
            raise HashMismatchError(f'invalid hash value (expected "{hash_prefix}", got "{digest}") for {url}')
        shutil.move(tmp.name, dst)
    except _Terminated:
        os.remove(tmp.name)
        signal.signal(signal.SIGTERM, previous)
        if previous == signal.SIG_DFL:
            os.kill(os.getpid(), signal.SIGTERM)  # die of it, as without our handler, the partial file gone
        elif callable(previous):
            previous(signal.SIGTERM, None)  # the program's own handler, as if ours had not been there
        raise DownloadError(f"download of {url} interrupted by SIGTERM") from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if os.path.exists(tmp.name):
            os.remove(tmp.name)


def _on_sigterm():
    """Make SIGTERM raise _Terminated in the main thread while a download runs; return the previous handler (None
    where no handler can be set: another thread, or an embedding that owns signals)."""

    def terminated(signum, frame):
        raise _Terminated()

    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_IGN, None):  # ignored (or not set from Python): leave it
            return None
        return signal.signal(signal.SIGTERM, terminated)
    except (ValueError, OSError):
        return None


def _fetch(url, out, progress, max_bytes) -> str:
    """Stream ``url`` into the open file ``out``; return the SHA-256 of what was written."""
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "minicnn"})
        response = urllib.request.urlopen(request, timeout=timeout_seconds())
    except urllib.error.HTTPError as e:
        raise DownloadError(f"cannot download {url}: the server answered {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"cannot download {url}: {reason}") from None
    except http.client.HTTPException as e:  # a malformed status line, header lines too long or too many
        problem = f"the server's answer is not valid HTTP ({type(e).__name__})"
        raise DownloadError(f"cannot download {url}: {problem}") from None
    except ValueError as e:  # not a URL urllib can fetch
        raise DownloadError(f"cannot download {url!r}: {e}") from None
    h = hashlib.sha256()
    window = timeout_seconds()
    with response:
        total = response.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        limit = min(total, max_bytes) if total is not None else max_bytes
        bar = _Progress(total, os.path.basename(urllib.request.urlparse(url).path)) if progress else None
        done, since, done_since = 0, time.monotonic(), 0
        try:
            while block := response.read1(CHUNK):  # whatever has arrived: a trickle is seen, not waited for
                done += len(block)
                if done > limit:
                    raise DownloadError(f"download of {url} sends more than {'announced' if total else 'allowed'}"
                                        f" ({limit} bytes): stopped")  # fmt: skip
                out.write(block)
                h.update(block)
                if bar:
                    bar.update(done)
                now = time.monotonic()
                if now - since >= window:  # a whole window: was it fast enough?
                    if done - done_since < MIN_BYTES_PER_SECOND * (now - since):
                        raise DownloadError(f"download of {url} stalled: {done - done_since} bytes in the last "
                                            f"{now - since:.0f} s (under {MIN_BYTES_PER_SECOND} bytes/s)")  # fmt: skip
                    since, done_since = now, done
        except (OSError, ValueError, http.client.HTTPException) as e:  # timeouts, resets, incomplete reads
            raise DownloadError(f"download of {url} failed after {done} bytes: {type(e).__name__}: {e}") from None
        finally:
            if bar:
                bar.close(done)
    if total is not None and done != total:
        raise DownloadError(f"download of {url} is truncated: got {done} of {total} bytes")
    return h.hexdigest()


class _Progress:
    """A one-line progress bar on stderr: name, percentage, megabytes, speed."""

    def __init__(self, total, name):
        self.total, self.name, self.t0, self.last = total, name, time.monotonic(), 0.0

    def update(self, done):
        now = time.monotonic()
        if now - self.last < 0.2 and done != self.total:
            return
        self.last = now
        speed = done / max(now - self.t0, 1e-9) / 2**20
        pct = f"{100 * done / self.total:5.1f}% of {self.total / 2**20:.1f} MB" if self.total else ""
        sys.stderr.write(f"\rDownloading {self.name}: {done / 2**20:7.1f} MB {pct} ({speed:.1f} MB/s)")
        sys.stderr.flush()

    def close(self, done):
        self.update(done)
        sys.stderr.write("\n")


def _verified_record() -> Path:
    return Path(settings.cache_dir()) / "verified.json"


def verify_cached(path: Path) -> None:
    """Check a cached file against the SHA-256 prefix in its name, once per version of the file.

    A file that passed is remembered (its size and modification time, in minicnn's cache folder), so the
    528 MB of VGG16 are hashed once, not at every load. MINICNN_VERIFY_CACHE=0 skips the check (for files
    you put there yourself under torchvision's names).
    """
    import json

    prefix = hash_prefix_of(path.name)
    if not prefix or not settings.verify_cache():
        return
    st = path.stat()
    stamp = [st.st_size, st.st_mtime_ns]
    record_path = _verified_record()
    try:
        record = json.loads(record_path.read_text())
    except FileNotFoundError:
        record = {}
    except (OSError, ValueError, UnicodeDecodeError) as e:
        warnings.warn(f"minicnn: ignoring {record_path} ({e}); it will be rewritten", stacklevel=3)
        record = {}
    if not isinstance(record, dict):
        warnings.warn(f"minicnn: ignoring {record_path} (a JSON {type(record).__name__}, not an object)", stacklevel=3)
        record = {}
    if record.get(str(path.resolve())) == stamp:
        return
    digest = sha256_of(path)
    if not digest.startswith(prefix):
        raise HashMismatchError(
            f"the cached file {path} is damaged: its SHA-256 starts with {digest[:8]}, not {prefix} as its name "
            f"promises; delete it and download it again (minicnn weights download)"
        )
    record[str(path.resolve())] = stamp
    try:
        record_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=record_path.parent, delete=False, suffix=".tmp") as f:
            json.dump(record, f)
        os.replace(f.name, record_path)
    except OSError:
        pass  # cannot remember: the check runs again next time


def cached_file(url: str, file_name: str | None = None, model_dir=None) -> Path:
    """Where ``url``'s file lives (or would) in the hub cache: ``get_dir()/checkpoints/<file name>``."""
    folder = Path(model_dir) if model_dir is not None else Path(get_dir()) / "checkpoints"
    return folder / (file_name or os.path.basename(urllib.request.urlparse(url).path))


def fetch_checkpoint(url, model_dir=None, progress=True, check_hash=True, file_name=None, download=None) -> Path:
    """The path of ``url``'s file in the cache, downloading it first if needed (and allowed)."""
    path = cached_file(url, file_name, model_dir)
    if path.is_file():
        if check_hash:
            verify_cached(path)
        return path
    if not downloads_allowed(download):
        raise OfflineError(
            f"{path.name} is not in the cache and downloads are turned off (MINICNN_OFFLINE or download=False); "
            f"download {url} and save it as {path}"
        )
    prefix = hash_prefix_of(path.name) if check_hash else None
    try:
        download_url_to_file(url, path, prefix, progress)
    except HashMismatchError:
        raise
    except DownloadError as e:
        raise OfflineError(f"{e}; to work offline, download {url} elsewhere and save it as {path}") from None
    return path
