#!/usr/bin/env bash
# Every GPU check in one call (well under 8 minutes on one GPU): the CUDA-marked tests, then cnnlab's
# training loop against the textbook loop on VGG-11 (width ÷4) at 224×224, printing examples/s,
# the ratio and TFLOP/s. Usage: bash benchmarks/gpu_check.sh [DATA_DIR with MNIST/raw]
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DATA=${1:-${CNNLAB_TEST_DATA:-../shared/datasets}}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || status=1
"$PY" -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))" || exit 1
echo "== CUDA-marked tests"
"$PY" -m pytest -p no:cacheprovider tests/test_cuda.py tests/test_train_loop.py -q -rs || status=1
echo "== bench_train: VGG-11/4 at 224, MNIST subset, batch 128, 2 epochs (speed auto, then channels_last + compile)"
for flags in "" "--channels-last --compile"; do
  "$PY" benchmarks/bench_train.py --model vgg11 --width-divisor 4 --dataset mnist --data-dir "$DATA" \
      --resize 224 --batch-size 128 --lr 0.05 --epochs 2 --device cuda --repeats 3 $flags || status=1
done
exit $status
