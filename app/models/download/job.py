"""One file's download from start to end: request, check the server's answer, stream into the ``.part``, verify.

``FileDownload.run`` opens (or resumes) the ``.part``, makes attempts until the
file is complete (``retry.with_retries``), checks its size and SHA-256 and
renames it to ``dest``. Each attempt acts on the status: 401/403 and 404 are
messages for the user, 429 and 5xx are retried, a refused or misplaced range
starts over, and a web page or a file that does not start like a GGUF is
refused before it is kept.
"""

from __future__ import annotations

import http.client
import logging
from typing import NoReturn

from app.models.download.control import Control
from app.models.download.errors import DownloadError
from app.models.download.http import content_range, display_url, get
from app.models.download.partfile import GGUF_MAGIC, PartFile
from app.models.download.progress import Reporter
from app.models.download.retry import Again, Transient, with_retries
from app.models.download.space import SPACE_MARGIN, check_free_space
from app.models.download.spec import DownloadOptions, DownloadSpec
from app.models.download.verify import damage
from app.units import format_size

log = logging.getLogger(__name__)


class FileDownload:
    """The download of one ``DownloadSpec`` into its ``.part`` (the caller holds the ``.part``'s lock)."""

    def __init__(self, spec: DownloadSpec, control: Control, reporter: Reporter, options: DownloadOptions) -> None:
        self.spec = spec
        self.name = spec.name
        self.control = control
        self.report = reporter
        self.token = (options.token or "").strip() or None
        self.timeout_s = options.timeout_s
        self.retries = options.retries
        self.part = PartFile(spec.dest, spec.name, reporter, max(4096, options.chunk))
        self.total: int | None = spec.size
        self.want_gguf = spec.dest.name.lower().endswith(".gguf")

    @property
    def offset(self) -> int:
        """Bytes in the ``.part`` so far."""
        return self.part.offset

    def run(self) -> bool:
        """Download and verify into the .part, then move it to ``dest``; True when the SHA-256 was checked."""
        self.part.open(self.spec.size, self.want_gguf, self.control)
        if self.total is not None:
            check_free_space(self.spec.dest.parent, self.total - self.offset + SPACE_MARGIN)
        with_retries(self.attempt, lambda: self.offset, control=self.control, name=self.name, retries=self.retries)
        return self.finish()

    def attempt(self) -> None:
        """One request: append to the .part until the file ends. Raises Transient, Again or DownloadError."""
        self.report.emit("connecting", self.offset)
        conn, resp = get(
            self.spec.url,
            name=self.name,
            offset=self.offset,
            token=self.token,
            timeout_s=self.timeout_s,
            control=self.control,
        )
        try:
            self.receive(resp)
        finally:
            self.control.watch_socket(None)
            conn.close()

    def finish(self) -> bool:
        self.report.total = self.total = self.total if self.total is not None else self.offset
        self.report.emit("verifying", self.offset)
        problem = damage(
            self.name,
            self.offset,
            self.part.digest.hexdigest(),
            expected_size=self.spec.size,
            expected_sha256=self.spec.sha256,
        )
        if problem is not None:
            raise self.part.fail_and_delete(problem)
        self.part.commit()
        return self.spec.sha256 is not None

    # -- the server's answer ----------------------------------------------------------------------

    def check_status(self, resp: http.client.HTTPResponse) -> bool:
        """Act on the status; False when the .part already holds the whole file (416)."""
        status, url = resp.status, display_url(self.spec.url)
        if status in (401, 403):
            hint = (
                "check that the token in Settings → Hugging Face token is valid and that this account accepted "
                "the model's license on Hugging Face"
                if self.token
                else "accept its license on Hugging Face and set a token in Settings → Hugging Face token"
            )
            raise DownloadError(f"The server refused {self.name} (HTTP {status}): the model may be gated; {hint}.")
        if status == 404:
            raise DownloadError(
                f"{self.name} was not found at {url} (the catalog may be out of date or the mirror lacks it)."
            )
        if status == 429 or status >= 500:
            retry_after = resp.getheader("Retry-After", "")
            delay = min(float(retry_after), 60.0) if retry_after.isdigit() else None
            raise Transient(f"the server is busy or failing (HTTP {status} {resp.reason})", delay)
        if status == 416:
            whole = content_range(resp.getheader("Content-Range", ""))[2]
            expected = self.spec.size if self.spec.size is not None else whole
            if self.offset and expected is not None and self.offset == expected:
                self.total = expected
                return False  # the .part is complete (a kill between the last byte and the rename)
            self._start_over("it refused the range asked for")
        if status == 200:
            if self.offset:
                log.info("%s: the server ignored the Range request; starting over", self.name)
                self.part.reset(0)
            length = resp.getheader("Content-Length")
            if length and length.isdigit():
                self._set_total(int(length))
        elif status == 206:
            start, _end, whole = content_range(resp.getheader("Content-Range", ""))
            if start != self.offset:
                self._start_over(f"it resumed at byte {start} instead of {self.offset}")
            if whole is not None:
                self._set_total(whole)
        else:
            raise DownloadError(f"The server refused {self.name}: HTTP {status} {resp.reason} from {url}.")
        if "text/html" in resp.getheader("Content-Type", "").lower():
            raise self.part.fail_and_delete(self._web_page_message())
        return True

    def _start_over(self, why: str) -> NoReturn:
        """The server could not resume the .part: start over without Range (once; a second time is an error)."""
        if not self.offset:
            raise DownloadError(f"The server sent a broken answer for {self.name} ({why}). Try again later.")
        log.info("%s: the server could not resume (%s); starting over", self.name, why)
        self.part.reset(0)
        raise Again

    def _set_total(self, total: int) -> None:
        if self.spec.size is not None and total != self.spec.size:
            raise self.part.fail_and_delete(
                f"The server's {self.name} is {format_size(total)} but the catalog says {format_size(self.spec.size)}: "
                "the catalog may be out of date. Nothing was kept."
            )
        if self.total is None:  # the size was not known before: check the space now
            check_free_space(self.spec.dest.parent, total - self.offset + SPACE_MARGIN)
        self.total = self.report.total = total

    def _web_page_message(self) -> str:
        return (
            f"The server sent a web page instead of the model file {self.name} (an error or login page, or a "
            "network sign-in portal); it was not kept. Check the download server in Settings and try again."
        )

    def receive(self, resp: http.client.HTTPResponse) -> None:
        """Stream the answer's body into the .part, refusing what is not a GGUF before any of it is kept."""
        if not self.check_status(resp):
            return
        head = b""
        checking = self.want_gguf and self.offset == 0
        while True:
            self.control.check()
            data = resp.read1(self.part.chunk)
            if not data:
                break
            if checking:  # hold the first bytes back until they show whether this is a GGUF at all
                head += data
                if len(head) < len(GGUF_MAGIC):
                    continue
                if not head.startswith(GGUF_MAGIC):
                    raise self.part.fail_and_delete(
                        self._web_page_message()
                        if head.lstrip()[:1] == b"<"
                        else (
                            f"The server sent something that is not a GGUF model for {self.name}; it was not kept. "
                            "The catalog or the download server may be wrong."
                        )
                    )
                data, head, checking = head, b"", False
            self.part.write(data)
            self.report.received(self.offset)
        self.control.check()  # an interrupted read ends like EOF: tell them apart
        if checking and head:
            raise self.part.fail_and_delete(self._web_page_message())
        if self.total is not None and self.offset < self.total:
            raise Transient("the connection dropped")
