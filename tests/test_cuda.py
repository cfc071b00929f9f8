"""Checks that need a CUDA GPU: device selection, bf16 autocast, timing, out-of-memory advice, the app.

They are marked `cuda` and skip, saying why, on a machine without one; `benchmarks/gpu_check.sh` runs
them in one call on a GPU machine.
"""

from __future__ import annotations

import math
import re
import time

import pytest
import torch
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.fit import fit
from cnnlab.train.setup import resolve_device

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

# Dense bf16 peak of the largest current data-centre GPUs (H100/H200 SXM: about 990 TFLOP/s). A loop that
# timed kernel launches instead of the work would report far more than this.
PHYSICAL_TFLOPS = 1000.0


def lenet(**options) -> RunConfig:
    base = dict(model=fit_input(model_config("lenet"), "shapes"), dataset="shapes", epochs=1,
                batch_size=256, optimizer="adam", lr=0.01, limit_train=2048, limit_test=512,
                device="cuda")
    return RunConfig(**base | options)


def test_auto_picks_the_gpu_and_a_missing_index_is_a_config_error():
    assert resolve_device("auto") == torch.device("cuda", torch.cuda.current_device())
    count = torch.cuda.device_count()
    with pytest.raises(ConfigError, match=rf"this machine has {count} CUDA device\(s\)"):
        resolve_device(f"cuda:{count}")


@pytest.mark.parametrize("amp, dtype", [(True, torch.bfloat16), (False, torch.float32)])
def test_autocast_runs_convolutions_in_bf16_only_when_asked(amp, dtype):
    seen: set[torch.dtype] = set()

    def record(module: nn.Module, _inputs, output) -> None:
        if isinstance(module, nn.Conv2d) and module.training:
            seen.add(output.dtype)

    handle = nn.modules.module.register_module_forward_hook(record)
    try:
        result = fit(lenet(amp=amp))
    finally:
        handle.remove()
    assert result.status == "done" and result.device.startswith("cuda")
    assert seen == {dtype}
    assert (result.epochs_done, result.steps) == (1, 2048 // 256)  # limit_train / batch_size steps
    assert math.isfinite(result.final_train_loss)  # bf16 neither overflowed nor turned the loss into NaN
    assert 0.0 <= result.final_test_acc <= 1.0


def test_throughput_is_timed_after_the_gpu_finished():
    """VGG-11 at 224: 16 steps of 256 images are ~190 TFLOP of work; timing only the kernel launches
    would report a rate no GPU reaches."""
    model = fit_input(model_config("vgg11"), "shapes", resize=224)
    config = RunConfig(model=model, dataset="shapes", resize=224, epochs=1, batch_size=256, lr=0.01,
                       limit_train=4096, limit_test=256, reports_per_epoch=1, device="cuda")
    start = time.perf_counter()
    result = fit(config)
    wall = time.perf_counter() - start
    assert result.status == "done"
    assert 0 < result.tflops < PHYSICAL_TFLOPS
    assert result.examples_per_sec > 4096 / wall  # the clock excludes start-up and evaluation


def test_out_of_memory_fails_clearly_and_the_suggested_batch_size_trains():
    model = fit_input(model_config("vgg11"), "shapes", resize=320)
    huge = RunConfig(model=model, dataset="shapes", resize=320, epochs=1, batch_size=6000,
                     lr=0.01, limit_test=64, device="cuda")
    result = fit(huge)
    assert result.status == "failed"
    assert result.error.startswith("CUDA out of memory at batch size 6000 on cuda")
    suggested = int(re.search(r"try batch size (\d+)", result.error).group(1))
    assert 1 <= suggested < 6000
    torch.cuda.empty_cache()
    fits = fit(RunConfig(model=model, dataset="shapes", resize=320, epochs=1, batch_size=suggested,
                         lr=0.01, limit_train=suggested, limit_test=64, device="cuda"))
    assert fits.status == "done", fits.error


def test_dashboard_build_page_runs_and_sizes_memory_by_the_gpu():
    apptest = pytest.importorskip("streamlit.testing.v1")
    import json
    from pathlib import Path

    app = apptest.AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py"),
                                    default_timeout=120).run()
    assert not app.exception
    bars = [trace for chart in app.get("plotly_chart")
            for trace in json.loads(chart.proto.spec)["data"] if trace.get("type") == "bar"]
    total = torch.cuda.get_device_properties(0).total_memory
    gpu = [t for t in bars if t.get("name") == f"{torch.cuda.get_device_name(0)} memory"]
    assert len(gpu) == 1 and gpu[0]["x"][0] == pytest.approx(total / 2**30)
