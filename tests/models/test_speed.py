"""Speed estimates: the arithmetic for every catalog model, the machine measured, and a real decode correcting them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from app.engine import Done, Engine, EventQueue, GenerateRequest, LoadRequest, Message, SamplingParams, Stats
from app.engine.backends import default_threads
from app.engine.events import GenerationStats
from app.models.advice import advise
from app.models.catalog import load_catalog
from app.models.hardware import GpuInfo, Hardware
from app.models.speed import CpuSpeed, Speeds, load_observations, measure_cpu, rate, record_turn, traffic_of_gguf
from app.models.speed.gpus import bandwidth_of, gpu_speed
from app.models.speed.machine import cpu_identity, load_cpu_speed, save_cpu_speed
from app.models.speed.observed import RATIO_MAX, RATIO_MIN, Sample, add_sample
from app.models.speed.record import placement
from app.models.speed.traffic import traffic_of_catalog
from app.models.variants import assess, find_variant
from app.units import GB

CATALOG = load_catalog()
#: A desktop: 50 GB/s read by 8 threads, 400 GFLOP/s float32 on 8 BLAS threads.
DESKTOP = CpuSpeed(bandwidth=50e9, flops=400e9, threads=8, measured_at=0.0, blas_threads=8)


def machine(ram_gb: float, *, gpu_gb: float = 0.0, gpu: str = "NVIDIA GeForce RTX 4090") -> Hardware:
    gpus = (GpuInfo(gpu, "CUDA", int(gpu_gb * GB), int(gpu_gb * GB)),) if gpu_gb else ()
    return Hardware(int(ram_gb * 1.2 * GB), int(ram_gb * GB), 8, 8, ("CPU",), gpus, 500 * GB, "Linux", "x86_64", False)


def decode(ref: str, speeds: Speeds | None = None) -> float:
    model, quant = CATALOG.get(ref)
    estimate = (speeds or Speeds(DESKTOP)).estimate(traffic_of_catalog(model, quant))
    assert estimate.decode is not None and estimate.source == "estimate"
    return estimate.decode


def test_every_catalog_model_gets_a_decode_and_prefill_rate_in_its_order() -> None:
    rates = {m.short_name: decode(m.short_name) for m in CATALOG}
    # E2B streams ~1.4 GB per token at Q4_K_M, the dense 31B ~18 GB: an order of magnitude apart.
    assert rates["e2b"] > 8 * rates["31b"]
    assert rates["e2b"] > rates["e4b"]
    # The MoE reads ~4B of its 25B parameters per token: far faster than the dense 31B, near E4B.
    assert rates["26b-a4b"] > 4 * rates["31b"]
    assert 0.5 < rates["26b-a4b"] / rates["e4b"] < 2
    assert 10 < rates["e4b"] < 40 and 1 < rates["31b"] < 5  # what a 50 GB/s desktop does, give or take
    for model in CATALOG:  # fewer bits, fewer bytes per token, faster
        q4_0, q4_k, q8 = (decode(f"{model.short_name}:{q}") for q in ("Q4_0", "Q4_K_M", "Q8_0"))
        assert q4_0 >= q4_k > q8, model.id
        prefill = Speeds(DESKTOP).estimate(traffic_of_catalog(model, model.default_quant)).prefill
        assert prefill is not None and prefill > decode(model.short_name)  # reading a prompt beats writing


def test_per_layer_embeddings_and_experts_are_not_streamed() -> None:
    e2b, q = CATALOG.get("e2b")
    t = traffic_of_catalog(e2b, q)
    assert t.weight_bytes < 0.5 * (q.file.size or 0)  # 2.3B effective of 5.1B stored
    moe, q = CATALOG.get("26b-a4b")
    assert traffic_of_catalog(moe, q).weight_bytes < 0.2 * (q.file.size or 0)
    # The KV read grows with the context, the sliding layers' only up to their window.
    assert t.kv_read_bytes(32768) > t.kv_read_bytes(4096) > t.kv_read_bytes(512) > 0


def test_rates_are_rounded_as_estimates() -> None:
    assert [rate(x) for x in (0.4, 3.4, 13, 47.6, 123, 1234)] == ["under 1", "3", "15", "50", "120", "1,200"]
    model, quant = CATALOG.get("31b")
    slow = Speeds(CpuSpeed(5e9, 50e9, 4, 0.0)).estimate(traffic_of_catalog(model, quant))
    assert slow.text == "under 1 tok/s"
    assert decode("e4b") and Speeds(DESKTOP).estimate(traffic_of_catalog(*CATALOG.get("e4b"))).text.startswith("about ")


def test_gpus_by_name_and_no_estimate_for_an_unknown_one() -> None:
    assert bandwidth_of("NVIDIA GeForce RTX 4070 Ti") == 504e9
    assert bandwidth_of("NVIDIA GeForce RTX 4070") == 504e9 and bandwidth_of("Apple M2 Pro") == 200e9
    assert bandwidth_of("Apple M2") == 100e9 and bandwidth_of("NVIDIA H200") == 4800e9
    assert bandwidth_of("Tesla T4") == 320e9 and bandwidth_of("NVIDIA L40S") == 864e9
    assert bandwidth_of("Mystery Accelerator 9000") is None
    gpu_hw = machine(64, gpu_gb=24)
    fast = assess(find_variant(CATALOG, "e4b"), gpu_hw, speeds=Speeds(DESKTOP, gpu_speed(gpu_hw)))
    assert fast.speed is not None and fast.speed.where == "gpu" and fast.speed.decode is not None
    assert fast.speed.decode > 5 * decode("e4b")  # a 1 TB/s GPU against a 50 GB/s CPU
    odd = machine(64, gpu_gb=24, gpu="Mystery Accelerator 9000")
    unknown = assess(find_variant(CATALOG, "e4b"), odd, speeds=Speeds(DESKTOP, gpu_speed(odd)))
    assert unknown.speed is not None and unknown.speed.decode is None
    assert unknown.speed.text == "no speed estimate" and "Mystery Accelerator 9000" in unknown.speed.detail


def test_the_machine_is_measured_with_plausible_numbers_and_kept(tmp_path: Path) -> None:
    cpu = measure_cpu(buffer_bytes=64 << 20, tries=2)
    assert 0.5e9 < cpu.bandwidth < 5e12  # bytes/s: from a slow VM to a many-channel server
    assert 0.5e9 < cpu.flops < 1e15 and cpu.threads >= 1 and cpu.cpu == cpu_identity()
    path = tmp_path / "machine-speed.json"
    save_cpu_speed(path, cpu)
    assert load_cpu_speed(path) == cpu
    assert load_cpu_speed(path, now=cpu.measured_at + 31 * 24 * 3600) is None  # a month on: measured again
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data | {"cpu": "another machine"}))
    assert load_cpu_speed(path) is None
    path.write_text("{not json")
    assert load_cpu_speed(path) is None


def test_a_real_decode_is_recorded_and_corrects_the_estimates(tiny_model: Path, tmp_path: Path) -> None:
    events = EventQueue()
    engine = Engine(events)
    try:
        list(events.until_done(engine.load(LoadRequest(tiny_model, n_ctx=1024)), timeout=30))
        request = GenerateRequest(
            messages=(Message.text("user", "Count"),),
            max_tokens=48,
            ignore_eos=True,
            sampling=SamplingParams(seed=1),
            speculative="off",  # a plain decode: drafted turns are the next test's
        )
        gid = engine.generate(request)
        got = list(events.until_done(gid, timeout=60))
    finally:
        engine.close()
    assert isinstance(got[-1], Done)
    stats = next(e.stats for e in got if isinstance(e, Stats))
    assert stats.completion_tokens == 48 and stats.decode_tps > 0

    speeds = Speeds(DESKTOP)
    kept = record_turn(tiny_model, stats, speeds, folder=tmp_path)
    assert kept is not None
    stored = json.loads((tmp_path / "decode-speeds.json").read_text())
    assert stored["models"][0]["file"] == tiny_model.name and stored["models"][0]["kind"] == "cpu"
    assert stored["models"][0]["samples"][0]["decode"] == stats.decode_tps

    observed = load_observations(tmp_path)
    corrected = Speeds(DESKTOP, None, observed)
    own = corrected.estimate(traffic_of_gguf(tiny_model), file_name=tiny_model.name)
    assert own.source == "measured" and own.decode == stats.decode_tps and own.text.startswith("measured ")
    ratio = observed.ratio("cpu")
    assert ratio is not None and RATIO_MIN <= ratio <= RATIO_MAX
    e4b = assess(find_variant(CATALOG, "e4b"), machine(32), speeds=corrected)
    assert e4b.speed is not None and e4b.speed.source == "corrected" and e4b.speed.decode is not None
    assert e4b.speed.decode == pytest.approx(decode("e4b") * ratio)
    assert "corrected by a model measured here" in e4b.speed.detail
    # A GPU's estimates are not corrected by a CPU measurement.
    assert corrected.estimate(traffic_of_catalog(*CATALOG.get("e4b")), where="gpu").source == "estimate"
    # Too short a turn is not timed.
    assert record_turn(tiny_model, stats.__class__(completion_tokens=3, decode_tps=50.0), speeds, tmp_path) is None


def test_one_odd_run_is_clamped_and_a_damaged_file_is_ignored(tmp_path: Path) -> None:
    now = time.time()
    add_sample("odd.gguf", "cpu", Sample(now, 512, decode=1000.0, decode_estimate=10.0), tmp_path)
    observed = load_observations(tmp_path)
    assert observed.ratio("cpu") == RATIO_MAX and observed.ratio("gpu") is None
    add_sample("slow.gguf", "cpu", Sample(now, 512, decode=1.0, decode_estimate=100.0), tmp_path)
    add_sample("slower.gguf", "cpu", Sample(now, 512, decode=1.0, decode_estimate=100.0), tmp_path)
    assert load_observations(tmp_path).ratio("cpu") == RATIO_MIN
    (tmp_path / "decode-speeds.json").write_text('{"version": 1, "models": [{"file": 3}]}')
    assert load_observations(tmp_path).items == ()


def test_recommendation_weighs_speed_and_offers_a_model_that_hears() -> None:
    # A big desktop without GPU: the 31B fits but writes ~2 tok/s; the MoE is the most capable comfortable pick.
    advice = advise(CATALOG, machine(96), speeds=Speeds(DESKTOP))
    assert advice.pick is not None and advice.pick.variant.model.short_name == "26b-a4b"
    assert advice.pick.speed is not None and advice.pick.speed.decode is not None and advice.pick.speed.decode >= 8
    assert advice.for_voice is not None and advice.for_voice.variant.model.can_hear
    note = advice.voice_note
    assert note.startswith("Gemma 4 26B A4B cannot hear: push-to-talk needs E2B or E4B.")
    assert f"For voice, choose {advice.for_voice.variant.label}, about " in note
    # A slow machine: nothing reaches 8 tok/s, so the fastest model at its usual quant.
    crawl = advise(CATALOG, machine(96), speeds=Speeds(CpuSpeed(5e9, 50e9, 4, 0.0)))
    assert crawl.pick is not None and crawl.pick.variant.ref == "e2b:Q4_K_M" and crawl.voice_note == ""
    # A 48 GB GPU: the dense 31B writes comfortably there, and is the most capable.
    gpu_hw = machine(64, gpu_gb=48)
    gpu = advise(CATALOG, gpu_hw, speeds=Speeds(DESKTOP, gpu_speed(gpu_hw)))
    assert gpu.pick is not None and gpu.pick.variant.model.short_name == "31b"
    assert "Gemma 4 31B cannot hear" in gpu.voice_note
    # Speed unknown (no measurement): the rule of thumb, as before.
    assert advise(CATALOG, machine(96)).pick is not None


def test_experts_left_in_ram_are_read_at_the_cpu_speed() -> None:
    """26B-A4B on a GPU too small for it: the first layers' experts stay in RAM and the CPU reads them."""
    speeds = {}
    for gpu_gb in (12, 16, 24):
        hw = machine(64, gpu_gb=gpu_gb)
        vf = assess(find_variant(CATALOG, "26b-a4b"), hw, speeds=Speeds(DESKTOP, gpu_speed(hw)))
        assert vf.speed is not None and vf.speed.decode is not None
        speeds[gpu_gb] = (vf.fit.estimate.cpu_moe_layers, vf.speed.where, vf.speed.decode)
    assert speeds[24][:2] == (0, "gpu")
    assert speeds[12][0] > speeds[16][0] > 0 and speeds[12][1] == speeds[16][1] == "split"
    assert decode("26b-a4b") < speeds[12][2] < speeds[16][2] < speeds[24][2]  # more experts in RAM, slower


def test_drafted_and_cpu_expert_turns_are_recorded_as_the_estimate_would_place_them(
    tiny_model: Path, tiny_moe_model: Path, tmp_path: Path
) -> None:
    """A turn sped up by drafts is kept at its plain rate (drafts gain with what an answer copies, not with the
    machine); a mixture of experts loaded with its first layers' experts in RAM is a split, not all on the GPU."""
    speeds = Speeds(DESKTOP)
    drafted = GenerationStats(completion_tokens=64, decode_tps=90.0, draft_tokens=40, draft_speedup=1.5)
    record_turn(tiny_model, drafted, speeds, folder=tmp_path)
    assert load_observations(tmp_path).find(tiny_model.name, "cpu").decode == pytest.approx(60.0)  # type: ignore[union-attr]

    traffic = traffic_of_gguf(tiny_moe_model)
    assert traffic.expert_bytes > 0
    assert placement(99, traffic.n_layer) == ("gpu", 1.0)
    where, share = placement(99, traffic.n_layer, traffic, cpu_moe_layers=traffic.n_layer)
    assert where == "split" and share == pytest.approx(1 - traffic.expert_bytes / traffic.weight_bytes)


def test_numbers_too_big_for_a_count_in_either_file_are_a_damaged_file(tmp_path: Path) -> None:
    """1e999 parses as infinity: the file is ignored (and measured or rewritten again), never a failure."""
    (tmp_path / "decode-speeds.json").write_text(
        '{"version": 1, "models": [{"file": "a.gguf", "kind": "cpu", "samples": [{"at": 1, "n_ctx": 1e999, '
        '"decode": 5, "decode_estimate": 5}]}, {"file": "b.gguf", "kind": "cpu", "samples": [{"at": 1, '
        '"n_ctx": 9, "decode": 1e999, "decode_estimate": 5}]}]}'
    )
    assert load_observations(tmp_path).items == ()
    now = time.time()
    add_sample("c.gguf", "cpu", Sample(now, 512, decode=10.0, decode_estimate=10.0), tmp_path)
    assert [o.file for o in load_observations(tmp_path).items] == ["c.gguf"]
    path = tmp_path / "machine-speed.json"
    good = {"bandwidth": 2e10, "flops": 1e11, "threads": default_threads(), "measured_at": now, "cpu": cpu_identity()}
    path.write_text(json.dumps(good))
    assert load_cpu_speed(path) is not None  # the same file with sound numbers loads
    for key in ("threads", "bandwidth", "flops"):
        path.write_text(json.dumps(good | {key: float("inf")}))  # "Infinity", as 1e999 reads back
        assert load_cpu_speed(path) is None, key
