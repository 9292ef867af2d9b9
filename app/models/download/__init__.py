"""Download model files over HTTP(S): resumable, verified, cancellable, and safe to run twice.

``download(spec)`` writes ``<dest>.part``, resumes it with ``Range`` (also
after the app was killed), retries dropped connections, checks the size and
SHA-256, then renames it to ``dest`` in one step. No Qt: the UI wraps it in a
task and turns the ``Progress`` callback into signals.

One module per job: ``fetch`` (the entry points), ``job`` (one file from
request to rename), ``http`` (addresses, proxies, redirects), ``partfile``
(the ``.part`` and its resume), ``lock`` (one downloader per file), ``retry``,
``space`` (free disk space), ``verify`` (sizes and SHA-256), ``progress``,
``control`` (pause and cancel), ``spec`` (what and how), ``errors``.

Decisions a caller should know:

* **Pause keeps, Cancel deletes.** ``Control.pause()`` stops within one chunk,
  keeps the ``.part`` and raises ``DownloadPaused``; ``resume()`` then a new
  ``download()`` call continues from it. ``Control.cancel()`` stops, deletes
  the ``.part`` and raises ``DownloadCancelled``. A paused download is
  discarded with ``discard_partial(spec)``. Both interrupt a stalled read at
  once (the socket is shut down), not after ``timeout_s``.
* **A second download of the same file fails at once** with "already being
  downloaded" (threads or processes alike; see ``lock.PartLock``).
* **The token is only ``DownloadOptions.token``** (the app passes its setting);
  ``HF_TOKEN`` from the environment is not read, so a token is never sent to a
  mirror the user did not give it to. It goes only to the URL's own origin,
  never along a redirect to another host (Hugging Face redirects to a CDN),
  and is never logged.
* **Unverifiable files:** without a catalog SHA-256 only the size is checked;
  the final ``Progress`` (state ``"done"``) says which with ``verified``.
* **``download_many``** checks free space for all files together first, then
  downloads them in turn with one aggregated progress: ``done``/``total``
  count all files, ``label`` names the current one.
* **An existing ``dest``** of the expected size (or of any size when none is
  known) is taken as already downloaded and returned without re-hashing it;
  ``verify_file`` is the deliberate check.
"""

from __future__ import annotations

from app.models.download.control import Control
from app.models.download.errors import DownloadCancelled, DownloadError, DownloadPaused
from app.models.download.fetch import discard_partial, download, download_many
from app.models.download.http import hf_url
from app.models.download.partfile import part_path
from app.models.download.progress import Progress, ProgressCallback, describe_progress
from app.models.download.space import SPACE_MARGIN, check_free_space, free_space_needed
from app.models.download.spec import DownloadOptions, DownloadSpec
from app.models.download.verify import verify_file

__all__ = [
    "SPACE_MARGIN",
    "Control",
    "DownloadCancelled",
    "DownloadError",
    "DownloadOptions",
    "DownloadPaused",
    "DownloadSpec",
    "Progress",
    "ProgressCallback",
    "check_free_space",
    "describe_progress",
    "discard_partial",
    "download",
    "download_many",
    "free_space_needed",
    "hf_url",
    "part_path",
    "verify_file",
]
