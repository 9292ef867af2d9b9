"""The status bar: model and backend, load progress, speed, context meter, cache reuse."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from app.engine import EngineError, GenerationStats, ModelInfo
from app.ui.icons import BusyIcon
from app.units import format_params

if TYPE_CHECKING:
    from app.remote import RemoteConfig

#: Above this share of the context, the meter warns that old turns will soon be left out.
WARN_AT = 0.8


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StatusBar")
        self.busy = BusyIcon("Loading the model…", self)  # turns while a model loads or a server is reached
        self.busy.hide()
        self.model_label = QLabel("No model loaded")
        self.model_label.setAccessibleName("Model")
        self.model_label.setToolTip("The loaded model and where it runs")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(180)
        self.progress.setAccessibleName("Model loading progress")
        self.progress.setToolTip("Loading the model in the background; the window stays usable")
        self.progress.hide()
        self.speed_label = QLabel("")
        self.speed_label.setAccessibleName("Speed of the last answer")
        self.speed_label.setToolTip("Tokens per second of the last answer")
        self.reuse_label = QLabel("")
        self.reuse_label.setAccessibleName("Prompt tokens reused from the cache")
        self.reuse_label.setToolTip(
            "How much of the last prompt came from the model's cache instead of being read again"
        )
        self.context_meter = QProgressBar()
        self.context_meter.setMaximumWidth(160)
        self.context_meter.setTextVisible(True)
        self.context_meter.setAccessibleName("Context used")
        self.context_meter.setFormat("Context %p%")
        self.context_meter.setValue(0)
        self.context_meter.setToolTip("How full the model's context is, pictures and audio included")
        self.addWidget(self.busy)
        self.addWidget(self.model_label, 1)
        self.addWidget(self.progress)
        self.addPermanentWidget(self.reuse_label)
        self.addPermanentWidget(self.speed_label)
        self.addPermanentWidget(self.context_meter)
        self.n_ctx = 0
        self.warning = False

    def add_before_stats(self, *widgets: QWidget) -> None:
        """Permanent widgets (the Server switch) between the model's label and the speed and context."""
        for widget in reversed(widgets):
            self.insertPermanentWidget(3, widget)  # the index counts the busy icon, the model label, the progress

    def set_loading(self, name: str, fraction: float | None) -> None:
        self.busy.setVisible(fraction is not None)
        if fraction is None:
            self.progress.hide()
            return
        self.model_label.setText(f"Loading {name}…")
        self.busy.setToolTip(f"Loading {name}…")
        self.progress.show()
        self.progress.setValue(int(fraction * 100))

    backend_summary = ""  # "CPU", "CUDA, 33/33 layers on the GPU": the About box repeats it

    def set_model(self, info: ModelInfo | None) -> None:
        self.progress.hide()
        self.busy.hide()
        if info is None:
            self.model_label.setText("No model loaded")
            self.n_ctx = 0
            self.backend_summary = ""
            return
        self.backend_summary = info.backend + (f", {info.gpu_layers} layers on the GPU" if info.gpu_layers else "")
        gpu = f", {info.gpu_layers}/{info.n_layers + 1} layers on GPU" if info.gpu_layers else ""
        if info.cpu_moe_layers:
            gpu += f", experts of {info.cpu_moe_layers} in RAM"
        senses = ", ".join(s for s, on in (("vision", info.has_vision), ("audio", info.has_audio)) if on)
        self.model_label.setText(f"{info.name} · {info.backend}{gpu}" + (f" · {senses}" if senses else ""))
        self.model_label.setToolTip(
            f"{info.path}\n{format_params(info.n_params)} parameters, context {info.n_ctx:,} tokens"
            + (f"\nprojector: {info.mmproj_path}" if info.mmproj_path else "")
        )
        self.n_ctx = info.n_ctx
        self.set_context(0, 0)

    def set_connecting(self, remote: RemoteConfig) -> None:
        self.progress.hide()
        self.busy.show()
        self.busy.setToolTip("Connecting to the server…")
        self.model_label.setText(f"Connecting to {remote.model or 'the model'} @ {_host(remote)}…")
        self.model_label.setToolTip(remote.base_url)

    def set_remote(self, info: ModelInfo, remote: RemoteConfig) -> None:
        """A model on a remote server: "Remote: gemma-4-31b @ gpu-box:8000"."""
        self.progress.hide()
        self.busy.hide()
        host = _host(remote)
        self.backend_summary = f"remote server at {host}"
        self.model_label.setText(f"Remote: {info.name or remote.model} @ {host}")
        senses = ", ".join(s for s, on in (("pictures", info.has_vision), ("sound", info.has_audio)) if on)
        self.model_label.setToolTip(
            f"Answers come from {remote.model or info.name} on the OpenAI-compatible server at {remote.base_url}"
            + (f"\nIt is sent {senses} inline." if senses else "")
            + (f"\nContext {info.n_ctx:,} tokens" if info.n_ctx else "")
        )
        self.n_ctx = info.n_ctx
        self.set_context(0, 0)

    def set_stats(self, stats: GenerationStats) -> None:
        drafts = (
            f" · drafts {stats.draft_acceptance:.0%} kept, ×{stats.draft_speedup:.2f}"
            if stats.draft_tokens and stats.draft_speedup
            else ""
        )
        self.speed_label.setText(f"{stats.decode_tps:.1f} tok/s{drafts}")
        if stats.prompt_tokens:
            self.reuse_label.setText(f"reused {stats.reused_tokens:,}/{stats.prompt_tokens:,}")
        self.n_ctx = stats.n_ctx or self.n_ctx
        self.set_context(stats.context_used, stats.media_tokens)

    def set_context(self, used: int, media_tokens: int) -> None:
        if not self.n_ctx:  # no model, or a remote server that does not say
            self.context_meter.setValue(0)
            self.context_meter.setFormat("Context —")
            self.context_meter.setToolTip("How large the model's context is is not known.")
            self.warning = False
            return
        total = max(1, self.n_ctx)
        share = used / total
        self.context_meter.setValue(min(100, int(share * 100)))
        self.warning = share >= WARN_AT
        media = f", of which pictures and audio {media_tokens:,}" if media_tokens else ""
        tip = f"Context: {used:,} of {self.n_ctx:,} tokens{media}."
        if self.warning:
            tip += " Nearly full: the oldest turns will be left out of the next prompt."
            self.context_meter.setFormat("Context %p% ⚠")
        else:
            self.context_meter.setFormat("Context %p%")
        self.context_meter.setToolTip(tip)
        self.context_meter.setAccessibleDescription(tip)


def _host(remote: RemoteConfig) -> str:
    try:
        return remote.host
    except EngineError:  # a RemoteError: an address that is not one
        return remote.base_url
