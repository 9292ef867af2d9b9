"""``gemma-desk models``: list the catalog, say what fits, download, verify and import models.

``list``, ``fit`` and ``verify`` take ``--json`` (one object per line). Exit
codes as for ``ask``: 0 done, 1 failed (the message says why), 2 bad
arguments, 130 interrupted (a download interrupted with Ctrl-C is paused: its
``.part`` is kept and the same command resumes it).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from app.engine.errors import EngineError
from app.models.advice import advise
from app.models.catalog import Catalog, CatalogError, CatalogKeyError, load_catalog
from app.models.download import (
    Control,
    DownloadError,
    DownloadOptions,
    DownloadPaused,
    Progress,
    describe_progress,
    download_many,
    verify_file,
)
from app.models.fit import Estimate, EstimateOptions, fit_placement
from app.models.hardware import Hardware, probe_hardware
from app.models.library import Library, LocalModel
from app.models.speed import SpeedEstimate, Speeds, load_speeds, speeds_or_none, traffic_of_gguf
from app.models.variants import (
    VariantFit,
    assess,
    assess_all,
    download_specs,
    find_variant,
    gpu_layers_for,
    local_path,
    variant_state,
)
from app.paths import models_dir
from app.settings import Settings
from app.units import format_gb, format_memory, format_params, format_size

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_parser(sub: Any) -> None:
    models = sub.add_parser(
        "models",
        help="the model catalog: list, fit, download, verify, import",
        description="List the Gemma 4 catalog, see what fits this machine, and download, verify or import models.",
    )
    common = argparse.ArgumentParser(add_help=False)  # before or after the action: both work
    common.add_argument("--folder", type=Path, default=argparse.SUPPRESS, help="the models folder (default: Settings)")
    common.add_argument(
        "--catalog", type=Path, default=argparse.SUPPRESS, help="another catalog (default: the shipped one)"
    )
    models.add_argument("--folder", type=Path, default=None, help=argparse.SUPPRESS)
    models.add_argument("--catalog", type=Path, default=None, help=argparse.SUPPRESS)
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, **kw: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, parents=[common], **kw)
        return parser

    ls = action("list", help="the catalog and the models on this machine")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    fit = action("fit", help="this machine, and the model that suits it best")
    fit.add_argument("name", nargs="?", help="NAME[:QUANT] from the catalog, or a GGUF file (default: recommend)")
    fit.add_argument("--ctx", type=_tokens, help="context size to estimate for (default: the largest that fits)")
    fit.add_argument("--json", action="store_true")
    get = action("download", help="download a model and its projector (resumes; Ctrl-C pauses)")
    get.add_argument("name", help="NAME[:QUANT], e.g. e4b or e4b:Q8_0")
    get.add_argument("--endpoint", help="a Hugging Face mirror (default: the one in Settings, else huggingface.co)")
    check = action("verify", help="check downloaded files against the catalog's sizes and SHA-256")
    check.add_argument("name", nargs="?", help="NAME[:QUANT] (default: every downloaded catalog model)")
    check.add_argument("--json", action="store_true")
    imp = action("import", help="add a GGUF from elsewhere to the library (nothing is copied)")
    imp.add_argument("path", type=Path)


def _tokens(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of tokens") from None
    if not 256 <= value <= 1 << 20:
        raise argparse.ArgumentTypeError(f"'{text}' must be between 256 and 1,048,576 tokens")
    return value


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    settings = Settings.load()
    folder = args.folder.expanduser() if args.folder else models_dir(settings.get_str("models_folder"))
    try:
        if args.action == "import":
            return _import(folder, args.path, out, err)
        catalog = load_catalog(args.catalog)
        if args.action == "list":
            return _list(catalog, folder, args.json, out)
        if args.action == "fit":
            return _fit(catalog, folder, args.name, args.ctx, args.json, out, err)
        if args.action == "download":
            endpoint = args.endpoint if args.endpoint is not None else settings.get_str("hf_endpoint")
            return _download(catalog, folder, args.name, endpoint, settings.get_str("hf_token") or None, err)
        return _verify(catalog, folder, args.name, args.json, out, err)
    except CatalogKeyError as exc:
        err.write(f"gemma-desk: {exc}\n")
        return EXIT_USAGE
    except (CatalogError, DownloadError, EngineError) as exc:
        err.write(f"gemma-desk: {exc}\n")
        return EXIT_FAILED


# -- list ------------------------------------------------------------------------------------


def _list(catalog: Catalog, folder: Path, as_json: bool, out: TextIO) -> int:
    hw = probe_hardware(folder)
    fits = assess_all(catalog, hw, speeds_or_none(load_speeds, hw))
    library_models, problems = Library(folder).models()
    if as_json:
        for vf in fits:
            out.write(json.dumps(_variant_json(vf, folder)) + "\n")
        for m in library_models:
            out.write(json.dumps(_local_json(m)) + "\n")
        return EXIT_OK
    out.write(f"Catalog (fit on this machine at {fits[0].fit.estimate.n_ctx:,} tokens of context):\n")
    current = ""
    for vf in fits:
        v = vf.variant
        if v.model.id != current:
            current = v.model.id
            mods = ", ".join(m for m in ("text", "image", "audio", "video") if m in v.model.modalities)
            out.write(f"\n  {v.model.name}  ({v.model.params_b:g}B, {v.model.active_params_b:g}B active; {mods})\n")
        size = format_size(v.download_size) if v.download_size else "size unknown"
        state = {"installed": "downloaded", "partial": "partly downloaded", "absent": ""}[variant_state(folder, v)]
        experts = f"GPU + CPU experts ({vf.fit.estimate.cpu_moe_layers}) " if vf.fit.estimate.cpu_moe_layers else ""
        pace = vf.speed.text if vf.speed is not None and vf.fit.verdict != "too_big" else ""
        need = format_gb(vf.fit.estimate_need)
        line = f"    {v.ref:<22} {size:>9}  needs {need:>7}  {vf.badge:<9} {pace:<18} {experts}{state}"
        out.write(line.rstrip() + "\n")
    out.write(f"\nModels folder: {folder}\n")
    if library_models:
        out.write("On this machine:\n")
        for m in library_models:
            where = " (imported)" if m.imported else ""
            out.write(f"  {m.path.name}  {m.kind}, {m.quantization}, {format_size(m.size_bytes)}{where}\n")
    for line in problems:
        out.write(f"  ! {line}\n")
    return EXIT_OK


def _variant_json(vf: VariantFit, folder: Path) -> dict[str, Any]:
    v = vf.variant
    return {
        "type": "catalog",
        "ref": v.ref,
        "model": v.model.id,
        "name": v.model.name,
        "quant": v.quant.name,
        "modalities": sorted(v.model.modalities),
        "download_bytes": v.download_size,
        "verifiable": v.can_verify,
        "state": variant_state(folder, v),
        "need_bytes": vf.fit.estimate_need,
        "verdict": vf.fit.verdict,
        "badge": vf.badge,
        "default_ctx": vf.default_ctx,
        "placement": vf.fit.estimate.placement,
        "cpu_moe_layers": vf.fit.estimate.cpu_moe_layers,
    } | _speed_json(vf.speed)


def _speed_json(speed: SpeedEstimate | None) -> dict[str, Any]:
    """Tokens per second writing and reading a prompt (null: no estimate), and how we know ("estimate", …)."""
    if speed is None:
        return {"decode_tok_s": None, "prefill_tok_s": None, "speed_source": None}
    decode = round(speed.decode, 1) if speed.decode is not None else None
    prefill = round(speed.prefill, 1) if speed.prefill is not None else None
    return {"decode_tok_s": decode, "prefill_tok_s": prefill, "speed_source": speed.source}


def _speed_lines(speed: SpeedEstimate | None, speeds: Speeds | None) -> list[str]:
    if speed is None:
        return ["  Speed: not estimated (this machine's speed could not be measured)"]
    lines = [f"  Speed here: {speed.detail}"]
    if speeds is not None and speed.where == "cpu":
        cpu = speeds.cpu
        lines.append(
            f"    this machine read memory at {cpu.bandwidth_gb_s:.0f} GB/s with {cpu.threads} threads "
            f"and multiplied at {cpu.flops / 1e9:.0f} GFLOP/s"
        )
    return lines


def _local_json(m: LocalModel) -> dict[str, Any]:
    return {
        "type": "local",
        "path": str(m.path),
        "name": m.name,
        "kind": m.kind,
        "architecture": m.architecture,
        "params": m.params,
        "quantization": m.quantization,
        "context_length": m.context_length,
        "chat_template": m.has_chat_template,
        "bytes": m.size_bytes,
        "mmproj": str(m.mmproj) if m.mmproj else None,
        "imported": m.imported,
    }


# -- fit --------------------------------------------------------------------------------------


def _hardware_lines(hw: Hardware, folder: Path) -> list[str]:
    cores = f", {hw.physical_cores} cores" if hw.physical_cores else ""
    lines = [
        f"This machine: {hw.os} {hw.arch}, {hw.cpu_threads} CPU threads{cores}",
        f"  RAM: {format_gb(hw.ram_available)} available of {format_gb(hw.ram_total)}",
        f"  llama.cpp backends: {', '.join(hw.backends)}",
    ]
    for g in hw.gpus:
        kind = "shared memory" if g.integrated else "dedicated"
        lines.append(
            f"  GPU: {g.name} ({g.backend}, {format_gb(g.memory_free)} free of {format_gb(g.memory_total)}, {kind})"
        )
    if not hw.gpus:
        lines.append("  GPU: none that this llama.cpp build can use (models run on the CPU)")
    lines.append(f"  Disk: {format_gb(hw.disk_free)} free in {folder}")
    return lines


def _estimate_lines(est: Estimate) -> list[str]:
    parts = [("weights", est.weights), ("projector", est.mmproj), ("KV cache", est.kv_cache)]
    parts += [("compute buffers", est.compute), ("overhead", est.overhead)]
    shown = ", ".join(f"{name} {format_memory(n)}" for name, n in parts if n)
    lines = [f"  Estimate at {est.n_ctx:,} tokens: {format_memory(est.total)} ({shown})"]
    if est.where != "cpu":
        lines.append(f"    {est.placement}: on the GPU {format_memory(est.gpu)}; in RAM {format_memory(est.ram)}")
    lines += [f"    note: {n}" for n in est.notes]
    return lines


def _fit(
    catalog: Catalog, folder: Path, name: str | None, ctx: int | None, as_json: bool, out: TextIO, err: TextIO
) -> int:
    hw = probe_hardware(folder)
    if name and (name.lower().endswith(".gguf") or Path(name).is_file()):
        return _fit_file(Path(name), hw, folder, ctx, as_json, out)
    speeds = speeds_or_none(load_speeds, hw)
    voice = ""
    voice_ref = None
    if name:
        base = assess(find_variant(catalog, name), hw)
        vf = assess(base.variant, hw, n_ctx=ctx or base.default_ctx, speeds=speeds)
        what = "Estimate"
    else:
        advice = advise(catalog, hw, speeds=speeds)
        pick = advice.pick
        if pick is None:
            if as_json:
                out.write(json.dumps({"type": "recommendation", "ref": None}) + "\n")
            else:
                out.write("\n".join(_hardware_lines(hw, folder)) + "\n\n")
                out.write(
                    "No Gemma 4 model in the catalog fits in the memory available now. "
                    "Close other apps and try again, or import a smaller GGUF.\n"
                )
            return EXIT_FAILED
        vf = assess(pick.variant, hw, n_ctx=ctx or pick.default_ctx, speeds=speeds)
        what = "Recommended"
        voice = advice.voice_note
        voice_ref = advice.for_voice.variant.ref if advice.for_voice is not None else None
    if as_json:
        row = _variant_json(vf, folder) | {"type": "recommendation" if not name else "fit"}
        row |= {"n_ctx": vf.fit.estimate.n_ctx, "message": vf.fit.message, "gpu_layers": gpu_layers_for(hw)}
        row |= {"hears": vf.variant.model.can_hear, "voice_note": voice or None, "voice_ref": voice_ref}
        out.write(json.dumps(row) + "\n")
        return EXIT_OK
    v = vf.variant
    lines = _hardware_lines(hw, folder)
    size = format_size(v.download_size) if v.download_size else "size unknown"
    lines += ["", f"{what}: {v.label} ({v.ref}), a {size} download"]
    lines.append(f"  {vf.fit.message}")
    lines += _estimate_lines(vf.fit.estimate)
    lines += _speed_lines(vf.speed, speeds)
    lines.append(
        f"  Default context here: {vf.default_ctx:,} tokens (the model was trained on {v.model.context_length:,})"
    )
    if vf.slow:
        lines.append(
            "  Warning: this model would write under 3 tokens a second here; `gemma-desk models list` shows how fast "
            "each model and quantization would be."
        )
    if not name:
        lines.append(f"  Download it with: gemma-desk models download {v.ref}")
    if voice:
        lines.append(f"  Voice: {voice}")
        if voice_ref:
            lines.append(f"    Download it with: gemma-desk models download {voice_ref}")
    out.write("\n".join(lines) + "\n")
    return EXIT_OK


def _fit_file(path: Path, hw: Hardware, folder: Path, ctx: int | None, as_json: bool, out: TextIO) -> int:
    from app.models.fit import ModelFacts, max_context_that_fits
    from app.models.local import find_mmproj

    mmproj = find_mmproj(path)
    facts = ModelFacts.from_gguf(path, mmproj)
    options = EstimateOptions(gpu_layers=gpu_layers_for(hw))
    n_ctx = ctx or max_context_that_fits(facts, hw, options=options)
    fit = fit_placement(facts, hw, n_ctx, options)
    est = fit.estimate
    speeds = speeds_or_none(load_speeds, hw)
    speed = speeds.for_memory(traffic_of_gguf(path), est, file_name=path.name) if speeds else None
    if as_json:
        row = {"type": "fit", "path": str(path), "mmproj": str(mmproj) if mmproj else None, "n_ctx": est.n_ctx}
        row |= {"need_bytes": fit.estimate_need, "verdict": fit.verdict, "message": fit.message}
        row |= {"placement": est.placement, "cpu_moe_layers": est.cpu_moe_layers}
        out.write(json.dumps(row | _speed_json(speed)) + "\n")
        return EXIT_OK
    lines = [*_hardware_lines(hw, folder), "", f"{path.name}" + (f" with {mmproj.name}" if mmproj else "")]
    lines += [f"  {fit.message}", *_estimate_lines(est), *_speed_lines(speed, speeds)]
    out.write("\n".join(lines) + "\n")
    return EXIT_OK


# -- download -----------------------------------------------------------------------------------


class _ProgressLine:
    """One line on stderr, rewritten in place on a terminal, every few seconds otherwise."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.tty = err.isatty()
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        final = p.state in ("done", "failed", "cancelled", "paused")
        if not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        self.err.write(
            ("\r\x1b[2K" if self.tty else "") + f"{p.label}: {describe_progress(p)}" + ("" if self.tty else "\n")
        )
        if self.tty and final:
            self.err.write("\n")
        self.err.flush()


def _download(catalog: Catalog, folder: Path, name: str, endpoint: str, token: str | None, err: TextIO) -> int:
    variant = find_variant(catalog, name)
    specs = download_specs(variant, folder, endpoint)
    control = Control()
    previous = signal.getsignal(signal.SIGINT)

    def pause(_signum: int, _frame: Any) -> None:
        control.pause()

    try:
        signal.signal(signal.SIGINT, pause)
    except ValueError:  # not the main thread
        previous = None
    try:
        download_many(specs, options=DownloadOptions(token=token), control=control, progress=_ProgressLine(err))
    except DownloadPaused:
        err.write(f"Paused. Run 'gemma-desk models download {variant.ref}' again to resume.\n")
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    checked = "SHA-256 checked" if variant.can_verify else "size checked (the catalog has no SHA-256 for it)"
    err.write(f"{variant.label} is ready in {folder} ({checked}).\n")
    return EXIT_OK


# -- verify and import -----------------------------------------------------------------------------------


def _verify(catalog: Catalog, folder: Path, name: str | None, as_json: bool, out: TextIO, err: TextIO) -> int:
    from app.models.variants import all_variants

    targets = (
        [find_variant(catalog, name)]
        if name
        else [v for v in all_variants(catalog) if variant_state(folder, v) == "installed"]
    )
    if not targets:
        err.write(f"gemma-desk: no catalog model is downloaded in {folder}.\n")
        return EXIT_FAILED
    refs = {local_path(folder, ref): ref for v in targets for ref in v.files}
    failed = False
    for path, ref in refs.items():
        if not path.is_file():
            result, ok = "missing", False
            message = f"{path.name} is not downloaded"
        else:
            try:
                checked = verify_file(path, ref.sha256, None if ref.size_approx else ref.size)
                result, ok = ("sha256" if checked else "size"), True
                message = f"{path.name}: OK ({'SHA-256 matches' if checked else 'size matches; no SHA-256 to check'})"
            except DownloadError as exc:
                result, ok, message = "damaged", False, str(exc)
        failed |= not ok
        if as_json:
            out.write(json.dumps({"type": "verify", "path": str(path), "result": result, "ok": ok}) + "\n")
        else:
            out.write(message + "\n")
    return EXIT_FAILED if failed else EXIT_OK


def _import(folder: Path, path: Path, out: TextIO, err: TextIO) -> int:
    model = Library(folder).import_model(path)
    params = f"{format_params(model.params)} parameters" if model.params else "parameters unknown"
    ctx = f"{model.context_length:,} tokens of context" if model.context_length else "context unknown"
    out.write(
        f"Imported {model.path.name}: {model.kind} ({model.architecture}), {params}, {model.quantization}, {ctx}\n"
    )
    if not model.has_chat_template:
        out.write("  No chat template: it is a base model and answers in the plain Gemma turn format.\n")
    out.write(f"  Projector: {model.mmproj.name if model.mmproj else 'none found (text only)'}\n")
    return EXIT_OK
