"""What settings exist: each one declared once with its type, default, range and the words a person sees.

Validation (``app.settings.validation``), the settings dialog and the docs all read ``SETTINGS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["str", "bool", "int", "float", "choice"]
Value = str | bool | int | float


@dataclass(frozen=True)
class Setting:
    """One setting: its type, default, allowed values and the words a person sees."""

    key: str
    kind: Kind
    default: Value
    label: str
    help: str
    group: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Value, ...] = ()
    multiline: bool = False
    in_dialog: bool = True
    minimum_label: str = ""  # what the minimum means, shown instead of it ("Off", "Random")
    choice_labels: tuple[str, ...] = ()  # one per choice; empty: the choices themselves
    secret: bool = False  # typed hidden in the dialog (a token)

    def choice_label(self, choice: Value) -> str:
        if self.choice_labels:
            return self.choice_labels[self.choices.index(choice)]
        return str(choice)


SETTINGS: tuple[Setting, ...] = (
    # Tools (declared first: its label's letters are all taken by later ones' mnemonics otherwise; in the window
    # it sits on the Settings dialog's Tools tab)
    Setting(
        key="tool_calls_per_answer",
        kind="int",
        default=10,
        label="Tool calls per answer",
        help="The most tools the model may call while writing one answer. At the limit no more calls run: "
        "the model is told to answer with what it has.",
        group="Tools",
        minimum=1,
        maximum=50,
    ),
    # Chat
    Setting(
        key="system_prompt",
        kind="str",
        default="",
        label="System prompt",
        help="Instructions the model reads before every conversation. A conversation may replace them with its own.",
        group="Chat",
        multiline=True,
    ),
    Setting(
        key="thinking_default",
        kind="bool",
        default=False,
        label="Think before answering in new chats",
        help="New conversations start with thinking on: Gemma reasons step by step before it answers "
        "(slower, often better on hard questions).",
        group="Chat",
    ),
    Setting(
        key="auto_titles",
        kind="bool",
        default=True,
        label="Chat titles written by the model",
        help="After a new chat's first answer, the loaded model writes a short title for it in the background "
        "(stopped at once if you ask something). Until then, and when off, a chat is titled by its first words. "
        "A chat you renamed keeps your name.",
        group="Chat",
    ),
    # Sampling
    Setting(
        key="temperature",
        kind="float",
        default=1.0,
        label="Temperature",
        help="How adventurous the wording is: 0 always takes the likeliest word, higher values vary more. "
        "Gemma 4's recommended value is 1.0.",
        group="Sampling",
        minimum=0.0,
        maximum=2.0,
    ),
    Setting(
        key="top_p",
        kind="float",
        default=0.95,
        label="Top-p",
        help="Choose only among the likeliest words whose chances add up to this share (1.0 = off).",
        group="Sampling",
        minimum=0.0,
        maximum=1.0,
    ),
    Setting(
        key="top_k",
        kind="int",
        default=64,
        label="Top-k",
        help="Choose only among this many of the likeliest words (0 = off).",
        group="Sampling",
        minimum=0,
        maximum=500,
        minimum_label="Off",
    ),
    Setting(
        key="repeat_penalty",
        kind="float",
        default=1.0,
        label="Repeat penalty",
        help="Discourages repeating recent words (1.0 = off). Gemma 4 rarely needs it.",
        group="Sampling",
        minimum=1.0,
        maximum=2.0,
        minimum_label="Off",
    ),
    Setting(
        key="max_tokens",
        kind="int",
        default=0,
        label="Maximum answer length",
        help="Stop an answer after this many tokens (0 = no limit but the context size).",
        group="Sampling",
        minimum=0,
        maximum=131072,
        minimum_label="No limit",
    ),
    Setting(
        key="seed",
        kind="int",
        default=-1,
        label="Seed",
        help="The same seed and question give the same answer (-1 = a new random seed each time).",
        group="Sampling",
        minimum=-1,
        maximum=2**31 - 1,
        minimum_label="Random",
    ),
    # Sampling: speculative decoding ("Quick drafts": its mnemonic, q, is a letter no other label needs)
    Setting(
        key="speculative",
        kind="choice",
        default="auto",
        label="Quick drafts",
        help="Guess the next words from the conversation itself (a copied code block, a quoted passage) and let "
        "the model check several guesses at once: its own answer, sooner. Automatic drafts only while it "
        "measures faster than writing word by word.",
        group="Sampling",
        choices=("auto", "off"),
        choice_labels=("Automatic", "Off"),
    ),
    # Model
    Setting(
        key="context_size",
        kind="int",
        default=8192,
        label="Context size",
        help="How many tokens of conversation the model sees at once; more uses more memory. "
        "Takes effect when a model is next loaded.",
        group="Model",
        minimum=512,
        maximum=262144,
    ),
    Setting(
        key="gpu_layers",
        kind="int",
        default=-1,
        label="GPU layers",
        help="How many of the model's layers run on the GPU (-1 = all, 0 = CPU only). "
        "Takes effect when a model is next loaded.",
        group="Model",
        minimum=-1,
        maximum=999,
        minimum_label="All",
    ),
    Setting(
        key="threads",
        kind="int",
        default=0,
        label="CPU threads",
        help="How many CPU threads llama.cpp uses (0 = automatic). Takes effect when a model is next loaded.",
        group="Model",
        minimum=0,
        maximum=256,
        minimum_label="Automatic",
    ),
    Setting(
        key="vision_budget",
        kind="choice",
        default=280,
        label="Image detail",
        help="Tokens spent on each picture: small is fast, large reads fine print in screenshots.",
        group="Model",
        choices=(70, 140, 280, 560, 1120),
        choice_labels=("70 tokens (fastest)", "140 tokens", "280 tokens", "560 tokens", "1120 tokens (finest print)"),
    ),
    # Appearance
    Setting(
        key="theme",
        kind="choice",
        default="system",
        label="Theme",
        help="Light or dark colours, or whatever the system uses.",
        group="Appearance",
        choices=("system", "light", "dark"),
        choice_labels=("Same as the system", "Light", "Dark"),
    ),
    # Voice and camera
    Setting(
        key="voice_send",
        kind="choice",
        default="send",
        label="After push-to-talk",
        help="What happens when you let go of the microphone button (or Ctrl+Space): send the recording at once, "
        "or attach it so you can add text before sending.",
        group="Voice and camera",
        choices=("send", "attach"),
        choice_labels=("Send it at once", "Attach it and let me add text"),
    ),
    Setting(
        key="camera_source",
        kind="str",
        default="",
        label="Camera",
        help="The camera, video file or stream URL the camera panel opened last.",
        group="Voice and camera",
        in_dialog=False,
    ),
    # Voice conversation (a page of its own in the dialog: Settings → Voice)
    Setting(
        key="read_aloud_voice_answers",
        kind="bool",
        default=True,
        label="Read answers aloud after a voice question",
        help="When you ask by voice (push-to-talk or hands-free), the answer is read aloud as it is written, "
        "starting with its first sentence. Thinking and code are not read. Any answer's Speak button reads it.",
        group="Voice",
    ),
    Setting(
        key="speech_voice",
        kind="str",
        default="",
        label="Voice",
        help="The system voice that reads answers aloud. Empty: the system's default voice.",
        group="Voice",
    ),
    Setting(
        key="speech_rate",
        kind="float",
        default=0.0,
        label="Speaking rate",
        help="How fast answers are read: -1 is slowest, 0 the voice's normal pace, 1 fastest.",
        group="Voice",
        minimum=-1.0,
        maximum=1.0,
    ),
    Setting(
        key="speech_volume",
        kind="int",
        default=100,
        label="Speech volume (%)",
        help="How loud answers are read, as a share of the system volume.",
        group="Voice",
        minimum=0,
        maximum=100,
    ),
    Setting(
        key="hands_free_silence_s",
        kind="float",
        default=0.8,
        label="Hands-free: send after a pause of (seconds)",
        help="In hands-free mode, what you said is sent once you have been quiet this long. Longer lets you "
        "pause to think mid-sentence; shorter answers sooner.",
        group="Voice",
        minimum=0.3,
        maximum=3.0,
    ),
    Setting(
        key="hands_free_barge_in",
        kind="bool",
        default=True,
        label="Hands-free: let me interrupt the answer by speaking",
        help="While an answer is read aloud, speaking stops it and starts your next question. Off: the "
        "microphone does not listen while the app speaks (interrupt with Esc or push-to-talk) — for loud "
        "speakers without echo cancellation.",
        group="Voice",
    ),
    # State the app keeps between runs; not in the dialog
    Setting(
        key="last_model_path",
        kind="str",
        default="",
        label="Last model",
        help="The model file open when the app last closed.",
        group="Model",
        in_dialog=False,
    ),
    Setting(
        key="models_folder",
        kind="str",
        default="",
        label="Models folder",
        help="Where downloaded models are kept. Empty: the models folder inside Gemma Desk's data folder.",
        group="Downloads",
    ),
    Setting(
        key="hf_token",
        kind="str",
        default="",
        label="Hugging Face token (only for gated models)",
        help="Needed only for gated models: accept the model's license on huggingface.co, then paste an access "
        "token here. It is sent to the download server and nowhere else.",
        group="Downloads",
        secret=True,
    ),
    Setting(
        key="hf_endpoint",
        kind="str",
        default="",
        label="Download server",
        help="A Hugging Face mirror or offline cache to download from (for example https://hf-mirror.example). "
        "Empty: https://huggingface.co.",
        group="Downloads",
    ),
    # The window's local server (its switch is in the status bar; the API key is made with "New API key…")
    Setting(
        key="server_host",
        kind="str",
        default="127.0.0.1",
        label="Server address",
        help="Where the local OpenAI-compatible server listens. 127.0.0.1: only programs on this computer. "
        "Any other address (0.0.0.0: every network) needs an API key: File → Server → New API key….",
        group="Server",
    ),
    Setting(
        key="server_port",
        kind="int",
        default=8080,
        label="Server port",
        help="The TCP port of the local server (http://ADDRESS:PORT/v1).",
        group="Server",
        minimum=1,
        maximum=65535,
    ),
    Setting(
        key="server_remote_images",
        kind="bool",
        default=False,
        label="Let clients send pictures by http(s) address",
        help="Off: pictures must come inside the request (data: URLs). On: the server downloads picture "
        "addresses it is sent, from wherever they point.",
        group="Server",
    ),
    Setting(
        key="server_max_in_flight",
        kind="int",
        default=4,
        label="Server requests at once",
        help="How many requests the server takes at a time (they queue on the one model, after the window's "
        "own); more are answered 429 with Retry-After.",
        group="Server",
        minimum=1,
        maximum=64,
    ),
    # The remote server the window chats through (File → Remote server…); not in the dialog
    Setting(
        key="last_engine",
        kind="choice",
        default="local",
        label="Last engine",
        help="Whether the window last chatted with a local model or a remote server; it reconnects the same way.",
        group="Model",
        choices=("local", "remote"),
        in_dialog=False,
    ),
    Setting(
        key="remote_url",
        kind="str",
        default="",
        label="Remote server",
        help="The base URL of the last remote OpenAI-compatible server (for example http://gpu-box:8000/v1).",
        group="Model",
        in_dialog=False,
    ),
    Setting(
        key="remote_model",
        kind="str",
        default="",
        label="Remote model",
        help="The model last chosen on the remote server.",
        group="Model",
        in_dialog=False,
    ),
    Setting(
        key="remote_audio",
        kind="bool",
        default=False,
        label="The remote model hears sound",
        help="Send recordings to the remote model (Gemma 4 E2B and E4B hear; 26B and 31B do not). A Gemma Desk "
        "server says so itself.",
        group="Model",
        in_dialog=False,
    ),
    Setting(
        key="remote_api_key",
        kind="str",
        default="",
        label="Remote server API key",
        help="The API key sent to the remote server (kept in plain text in settings.json, like the Hugging Face "
        "token).",
        group="Model",
        in_dialog=False,
        secret=True,
    ),
    Setting(
        key="last_mmproj_path",
        kind="str",
        default="",
        label="Last projector",
        help="The vision/audio projector open when the app last closed.",
        group="Model",
        in_dialog=False,
    ),
)

BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(s.group for s in SETTINGS if s.in_dialog))


class SettingsError(ValueError):
    """A value a setting refuses; ``str(error)`` is one line naming the setting, fit to show a user."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def setting(key: str) -> Setting:
    """The declaration for ``key``; ``SettingsError`` if there is none."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise SettingsError(f"There is no setting called {key!r}.", key) from None


def defaults() -> dict[str, Value]:
    return {s.key: s.default for s in SETTINGS}
