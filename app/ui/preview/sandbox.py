"""A sandbox for pages the model wrote: Qt WebEngine with no files, no network, no scripts, no windows.

Generated HTML is untrusted. ``SandboxedPage`` loads it from memory (an
opaque-origin ``data:`` document) in an off-the-record profile and:

* blocks every request that leaves the page — file, http(s), ws, even
  127.0.0.1 — with a ``QWebEngineUrlRequestInterceptor``; with
  ``allow_remote`` (which the user turns on per preview, after a warning) only
  remote images, fonts and stylesheets may load, never scripts, frames, XHR or
  sockets;
* makes no connection and no DNS query the interceptor does not see
  (preconnect, WebRTC): Chromium's switches send all of them to a gate that
  lets through only connections to where the guard allowed a request
  (``sandbox_network``);
* runs no JavaScript unless ``set_scripts(True)``; even then it cannot open
  windows, use the clipboard, storage, plugins or full screen;
* refuses navigation away from the page (link clicks, forms, ``location=``),
  new windows, downloads and permission requests (camera, microphone,
  location, notifications…);
* has no QWebChannel: the page cannot reach the app.

Counts of what was refused are kept for the UI ("3 requests blocked") and the
tests.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtWebEngineCore import (
    QWebEngineDownloadRequest,
    QWebEnginePage,
    QWebEnginePermission,
    QWebEngineProfile,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)

from app.ui.preview.sandbox_network import NetworkGate, harden_webengine

log = logging.getLogger(__name__)

#: setHtml's limit; bigger pages are refused with a message.
MAX_PAGE_BYTES = 2 * 1024 * 1024
_LOCAL_SCHEMES = frozenset({"data", "about", "blob"})
_REMOTE_KINDS = frozenset(
    {
        QWebEngineUrlRequestInfo.ResourceType.ResourceTypeImage,
        QWebEngineUrlRequestInfo.ResourceType.ResourceTypeFontResource,
        QWebEngineUrlRequestInfo.ResourceType.ResourceTypeStylesheet,
    }
)
_OFF = (
    "JavascriptCanOpenWindows",
    "JavascriptCanAccessClipboard",
    "JavascriptCanPaste",
    "LocalStorageEnabled",
    "LocalContentCanAccessFileUrls",
    "LocalContentCanAccessRemoteUrls",
    "PluginsEnabled",
    "PdfViewerEnabled",
    "FullScreenSupportEnabled",
    "ScreenCaptureEnabled",
    "AllowRunningInsecureContent",
    "AllowGeolocationOnInsecureOrigins",
    "AllowWindowActivationFromJavaScript",
    "DnsPrefetchEnabled",
    "HyperlinkAuditingEnabled",
    "AutoLoadIconsForPage",
    "NavigateOnDropEnabled",
    "ErrorPageEnabled",
    "FocusOnNavigationEnabled",
    "TouchIconsEnabled",
)
#: WebRTC only on the default route's interface (the switches in ``sandbox_network`` go further: no UDP at
#: all); media waits for a click, so a page cannot start streams on its own.
_ON = ("WebRTCPublicInterfacesOnly", "PlaybackRequiresUserGesture")


class RequestGuard(QWebEngineUrlRequestInterceptor):
    """Refuses every request that leaves the page, except remote images/fonts/styles when allowed."""

    def __init__(self, gate: NetworkGate, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._allow_remote = False
        self._gate = gate
        self._owner = owner = gate.new_owner()
        self.destroyed.connect(lambda *_: gate.revoke(owner))
        self.blocked: list[str] = []  # URLs refused, newest last (read on the GUI thread)
        self.allowed: list[str] = []

    @property
    def allow_remote(self) -> bool:
        return self._allow_remote

    @allow_remote.setter
    def allow_remote(self, on: bool) -> None:
        self._allow_remote = on
        if not on:
            self._gate.revoke(self._owner)  # the gate closes again for this page's hosts

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl()
        scheme = url.scheme().lower()
        if scheme in _LOCAL_SCHEMES:
            return
        if self.allow_remote and scheme in ("http", "https") and info.resourceType() in _REMOTE_KINDS:
            self.allowed.append(url.toString())
            host = url.host(QUrl.ComponentFormattingOption.FullyEncoded)
            self._gate.permit(self._owner, host, url.port(443 if scheme == "https" else 80))
            return
        info.block(True)
        self.blocked.append(url.toString()[:300])


def sandbox_profile() -> tuple[QWebEngineProfile, RequestGuard]:
    """An off-the-record profile (nothing stored) with its request guard; ``SandboxedPage`` adopts it."""
    gate = harden_webengine()  # before the first profile starts Qt WebEngine: its switches are read then
    profile = QWebEngineProfile()  # no storage name: off the record
    profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
    profile.setPersistentCookiesPolicy(QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies)
    profile.setPersistentPermissionsPolicy(QWebEngineProfile.PersistentPermissionsPolicy.AskEveryTime)
    profile.setSpellCheckEnabled(False)
    profile.setPushServiceEnabled(False)
    guard = RequestGuard(gate, profile)
    profile.setUrlRequestInterceptor(guard)
    return profile, guard


class SandboxedPage(QWebEnginePage):
    """One generated page, locked down (see the module docstring)."""

    # Signals
    refused = Signal(str)  # something the page tried and was not allowed, in words

    def __init__(self, parent: QObject | None = None) -> None:
        profile, guard = sandbox_profile()
        super().__init__(profile, parent)
        if profile.parent() is None:
            profile.setParent(self)  # one profile per page, deleted after it (Qt wants pages gone first)
        self.guard = guard
        self.windows_refused = 0
        self.navigations_refused = 0
        self.downloads_refused = 0
        self.permissions_refused = 0
        self._own_load = False
        settings = self.settings()
        for name in _OFF:
            settings.setAttribute(getattr(QWebEngineSettings.WebAttribute, name), False)
        for name in _ON:
            settings.setAttribute(getattr(QWebEngineSettings.WebAttribute, name), True)
        settings.setAttribute(QWebEngineSettings.WebAttribute.JavascriptEnabled, False)
        settings.setAttribute(QWebEngineSettings.WebAttribute.AutoLoadImages, True)
        self.permissionRequested.connect(self._on_permission_requested)
        profile.downloadRequested.connect(self._on_download_requested)

    # -- what the app does ---------------------------------------------------------------------

    def show_html(self, html: str) -> bool:
        """Load ``html`` from memory; False (and ``refused``) when it is too large to preview."""
        data = html.encode("utf-8")
        if len(data) > MAX_PAGE_BYTES:
            self.refused.emit(f"The page is {len(data) / 1e6:.1f} MB; previews take pages up to 2 MB.")
            return False
        self._own_load = True
        self.setContent(data, "text/html;charset=UTF-8", QUrl())
        return True

    def set_scripts(self, on: bool) -> None:
        self.settings().setAttribute(QWebEngineSettings.WebAttribute.JavascriptEnabled, on)

    def scripts_enabled(self) -> bool:
        return self.settings().testAttribute(QWebEngineSettings.WebAttribute.JavascriptEnabled)

    def set_remote(self, on: bool) -> None:
        self.guard.allow_remote = on

    # -- what the page tries ----------------------------------------------------------------------

    def acceptNavigationRequest(
        self, url: QUrl | str, kind: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        target = QUrl(url)
        if is_main_frame:
            if self._own_load and target.scheme() == "data":
                self._own_load = False
                return True
            self.navigations_refused += 1
            self.refused.emit(f"The page tried to open {target.toString()[:120]}; previews stay on the page.")
            return False
        return target.scheme().lower() in _LOCAL_SCHEMES  # frames: only inline content

    def createWindow(self, _kind: QWebEnginePage.WebWindowType) -> QWebEnginePage | None:  # type: ignore[override]
        self.windows_refused += 1
        self.refused.emit("The page tried to open a new window; previews cannot.")
        return None

    def javaScriptConsoleMessage(self, level: object, message: str, line: int, source: str) -> None:
        log.debug("preview console (%s:%s): %s", source[:60], line, message[:200])

    def _on_permission_requested(self, permission: QWebEnginePermission) -> None:
        self.permissions_refused += 1
        permission.deny()
        self.refused.emit("The page asked for a permission (camera, microphone, location…); it was refused.")

    def _on_download_requested(self, download: QWebEngineDownloadRequest) -> None:
        if download.page() is not self:
            return
        self.downloads_refused += 1
        download.cancel()
        self.refused.emit("The page tried to download a file; previews cannot.")
