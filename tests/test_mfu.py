"""MFU: a CUDA run's TFLOP/s over its device's dense datasheet peak for the dtype it trained in."""

import dataclasses

from cnnlab.runs.store import RunStore
from cnnlab.train.mfu import utilisation


def run_on(tmp_path, device: str, device_name: str, tflops: float | None, amp: bool):
    store = RunStore(tmp_path)
    run = store.get(store.create_run({"amp": amp}, name="r", model="vgg11", dataset="shapes"))
    return dataclasses.replace(run, device=device, tflops=tflops, provenance={"device_name": device_name})


def test_mfu_divides_by_the_dense_peak_of_the_dtype(tmp_path):
    # H200 SXM: 1,979 TFLOP/s bf16 with sparsity, so 989.4 dense; 98.94 achieved is 10%
    mfu = utilisation(run_on(tmp_path, "cuda:0", "NVIDIA H200", 98.94, amp=True))
    assert (mfu.peak, mfu.dtype) == (989.4, "bf16") and abs(mfu.value - 0.1) < 1e-12
    assert mfu.describe() == ("MFU 10.0% of the NVIDIA H200's 989.4 TFLOP/s dense bf16 peak "
                              "(NVIDIA H200 Tensor Core GPU datasheet (SXM))")
    # float32 convolutions run in TF32 on an A100: 156 dense
    fp32 = utilisation(run_on(tmp_path, "cuda", "NVIDIA A100-SXM4-80GB", 39.0, amp=False))
    assert (fp32.peak, fp32.dtype, fp32.value) == (156.0, "tf32", 0.25)
    # the PCIe H100 has its own, lower peak (756 bf16 dense), matched before the SXM one
    assert utilisation(run_on(tmp_path, "cuda", "NVIDIA H100 PCIe", 75.6, amp=True)).peak == 756.0


def test_no_mfu_without_a_known_cuda_peak(tmp_path):
    assert utilisation(run_on(tmp_path, "cpu", "AMD EPYC", 0.5, amp=True)) is None
    assert utilisation(run_on(tmp_path, "cuda", "NVIDIA GeForce RTX 2060", 5.0, amp=True)) is None
    assert utilisation(run_on(tmp_path, "cuda", "NVIDIA H200", None, amp=True)) is None
