"""Model FLOPs utilisation (MFU) of a CUDA run: its achieved TFLOP/s over the device's dense peak for the
dtype it trained in (bf16 with `amp`, else TF32: cuDNN's default for float32 convolutions).

The peaks are NVIDIA's datasheet figures without structured sparsity (half the "with sparsity" ones);
a device not in the table gets no MFU rather than a guess."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnlab.runs.rows import Run


@dataclass(frozen=True)
class Peak:
    """Dense TFLOP/s of one device by dtype, and where the figures come from."""

    bf16: float
    tf32: float
    source: str


# Device-name fragment (as torch.cuda.get_device_name prints it) -> its peak; the first match wins.
PEAKS = (
    ("H200", Peak(bf16=989.4, tf32=494.7, source="NVIDIA H200 Tensor Core GPU datasheet (SXM)")),
    ("H100 PCIe", Peak(bf16=756.0, tf32=378.0, source="NVIDIA H100 Tensor Core GPU datasheet (PCIe)")),
    ("H100", Peak(bf16=989.4, tf32=494.7, source="NVIDIA H100 Tensor Core GPU datasheet (SXM)")),
    ("A100", Peak(bf16=312.0, tf32=156.0, source="NVIDIA A100 Tensor Core GPU datasheet")),
)


@dataclass(frozen=True)
class Utilisation:
    """`value` = achieved / `peak` TFLOP/s in `dtype` of `device`."""

    value: float
    peak: float
    dtype: str
    device: str
    source: str

    def describe(self) -> str:
        return (f"MFU {self.value:.1%} of the {self.device}'s {self.peak:g} TFLOP/s dense {self.dtype} peak "
                f"({self.source})")


def utilisation(run: Run) -> Utilisation | None:
    """The MFU of `run`, or None: not on CUDA, no TFLOP/s measured, or a device with no known peak."""
    device = (run.provenance or {}).get("device_name")
    if run.tflops is None or not (run.device or "").startswith("cuda") or not device:
        return None
    peak = next((peak for fragment, peak in PEAKS if fragment in device), None)
    if peak is None:
        return None
    dtype = "bf16" if run.config.get("amp") else "tf32"
    top = getattr(peak, dtype)
    return Utilisation(run.tflops / top, top, dtype, device, peak.source)
