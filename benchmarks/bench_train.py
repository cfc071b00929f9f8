"""Training throughput: the textbook's loop versus cnnlab's, same model, data, batch size, epochs, device.

The textbook loop is d2l's `train_ch6` over `load_data_fashion_mnist`: a `DataLoader` (d2l's 4 worker
processes) over a torchvision dataset with `Resize` (if asked) and `ToTensor`, Xavier-initialised
weights, plain SGD, and a per-batch `float()` of loss and accuracy into an accumulator. cnnlab's loop is
`cnnlab.train.fit.fit` with the same model and hyper-parameters. Both are timed the same way (DESIGN's
examples/s: training examples / wall time of the training epochs, data loading included, evaluation
excluded) and run alternately `--repeats` times. On a shared machine a neighbour's load only ever
slows a run down, so the best of the repeats is the headline figure; each repeat's ratio (the two loops
run back to back) and their median are printed too.

CPU (the figure in docs/BENCHMARKS.md; LeNet, SGD lr 0.9, batch 256 on the MNIST subset); without
--compile / --channels-last cnnlab runs with speed="auto" (its choice is printed each repeat):
    python benchmarks/bench_train.py --data-dir ../shared/datasets
GPU (VGG-11, width divisor 4, 224x224 Fashion-MNIST, as in the textbook's chapter 8):
    python benchmarks/bench_train.py --model vgg11 --width-divisor 4 --dataset fashion-mnist --resize 224 \
        --batch-size 128 --lr 0.05 --epochs 2 --device cuda --channels-last --compile
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from machine import cpu_name
from torch import nn
from torchvision import transforms

from cnnlab.analysis import analyze
from cnnlab.data import resolve_data_dir
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.fit import fit
from cnnlab.train.setup import resolve_device
from cnnlab.zoo import build

TORCHVISION_DATASETS = {"mnist": torchvision.datasets.MNIST,
                        "fashion-mnist": torchvision.datasets.FashionMNIST,
                        "cifar10": torchvision.datasets.CIFAR10}


def textbook(config: RunConfig, workers: int) -> tuple[float, float]:
    """d2l's train_ch6; returns (examples/s, final test accuracy)."""
    device = resolve_device(config.device)
    trans = [transforms.ToTensor()]
    if config.resize:
        trans.insert(0, transforms.Resize(config.resize))
    trans = transforms.Compose(trans)
    dataset = TORCHVISION_DATASETS[config.dataset]

    def loader(train: bool, limit: int | None) -> torch.utils.data.DataLoader:
        data = dataset(config.data_dir or resolve_data_dir(), train=train, transform=trans, download=False)
        if limit:
            data = torch.utils.data.Subset(data, range(min(limit, len(data))))
        return torch.utils.data.DataLoader(data, config.batch_size, shuffle=train, num_workers=workers)

    train_iter, test_iter = loader(True, config.limit_train), loader(False, config.limit_test)
    torch.manual_seed(config.seed)
    net = build(config.model, device=device)

    def init_weights(m: nn.Module) -> None:
        if type(m) is nn.Linear or type(m) is nn.Conv2d:
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr)
    loss = nn.CrossEntropyLoss()
    examples, seconds, test_acc = 0, 0.0, 0.0
    for _ in range(config.epochs):
        metric = [0.0, 0.0, 0.0]  # d2l.Accumulator(3): loss sum, correct, examples
        net.train()
        _sync(device)
        start = time.perf_counter()
        for X, y in train_iter:
            optimizer.zero_grad()
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)  # noqa: E741 (the textbook's name)
            l.backward()
            optimizer.step()
            with torch.no_grad():
                metric[0] += float(l * X.shape[0])
                metric[1] += float((y_hat.argmax(axis=1).type(y.dtype) == y).sum())
                metric[2] += X.shape[0]
        _sync(device)
        seconds += time.perf_counter() - start
        examples += int(metric[2])
        test_acc = _evaluate(net, test_iter, device)
    return examples / seconds, test_acc


def _evaluate(net: nn.Module, data_iter: torch.utils.data.DataLoader, device: torch.device) -> float:
    """d2l's evaluate_accuracy_gpu."""
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            correct += float((net(X).argmax(axis=1) == y).sum())
            total += y.numel()
    return correct / total


def cnnlab_loop(config: RunConfig, speed_cache: Path) -> tuple[float, float]:
    result = fit(config, speed_cache=speed_cache)
    if result.status != "done":
        raise SystemExit(f"cnnlab's run ended {result.status}: {result.error}")
    threads = result.speed.get("threads")
    print(f"    cnnlab's path: {result.speed['path']} ({result.speed['reason']})"
          + (f"; threads per epoch {threads}" if threads else ""))
    return result.examples_per_sec, result.final_test_acc


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="lenet")
    parser.add_argument("--width-divisor", type=int)
    parser.add_argument("--dataset", default="mnist", choices=sorted(TORCHVISION_DATASETS))
    parser.add_argument("--data-dir", help="default: $CNNLAB_DATA or cnnlab's per-user folder")
    parser.add_argument("--resize", type=int)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.9, help="SGD learning rate (d2l's LeNet: 0.9)")
    parser.add_argument("--limit-train", type=int)
    parser.add_argument("--limit-test", type=int)
    parser.add_argument("--workers", type=int, default=4, help="textbook DataLoader workers (d2l: 4)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="cnnlab loop with torch.compile")
    parser.add_argument("--channels-last", action="store_true", help="cnnlab loop in channels-last format")
    parser.add_argument("--no-amp", dest="amp", action="store_false", help="cnnlab loop in fp32 on CUDA too")
    args = parser.parse_args()

    options = {"width_divisor": args.width_divisor} if args.width_divisor else {}
    model = fit_input(model_config(args.model, **options), args.dataset, args.resize)
    config = RunConfig(model=model, dataset=args.dataset, data_dir=args.data_dir, resize=args.resize,
                       epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, optimizer="sgd",
                       device=args.device, amp=args.amp, compile=args.compile,
                       channels_last=args.channels_last, limit_train=args.limit_train,
                       limit_test=args.limit_test)
    device = resolve_device(config.device)
    flops = 6 * analyze(model).totals.macs  # per training example: forward + backward ≈ 3 × forward
    cpu = cpu_name()
    print(f"{model.name} on {args.dataset} {model.input}, batch {args.batch_size}, {args.epochs} epochs, "
          f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else cpu}, "
          f"{torch.get_num_threads()} threads), torch {torch.__version__}")
    flags = [f for f, on in (("bf16 autocast", config.amp and device.type == "cuda"),
                             ("channels_last", config.channels_last), ("compile", config.compile),
                             ("speed auto (first steps timed)", config.speed == "auto")) if on]
    print(f"textbook: DataLoader with {args.workers} workers; cnnlab: {', '.join(flags) or 'fp32 eager'}")
    rates: dict[str, list[float]] = {"textbook": [], "cnnlab": []}
    speed_cache = Path(tempfile.mkdtemp()) / "speed-cache.json"
    for repeat in range(1, args.repeats + 1):
        for name, loop in (("textbook", lambda: textbook(config, args.workers)),
                           ("cnnlab", lambda: cnnlab_loop(config, speed_cache))):
            start = time.perf_counter()
            rate, acc = loop()
            wall = time.perf_counter() - start
            rates[name].append(rate)
            print(f"  repeat {repeat} {name:8} {rate:10.1f} examples/s  {rate * flops / 1e12:7.3f} TFLOP/s  "
                  f"test acc {acc:.3f}  (whole call {wall:.1f} s with data, compilation, evaluation)",
                  flush=True)
    best = {name: max(values) for name, values in rates.items()}
    for name, rate in best.items():
        print(f"{name:8} best {rate:10.1f} examples/s  {rate * flops / 1e12:.3f} TFLOP/s  "
              f"(median {statistics.median(rates[name]):.1f})")
    pairs = [c / t for t, c in zip(rates["textbook"], rates["cnnlab"], strict=True)]
    print(f"ratio cnnlab / textbook: {best['cnnlab'] / best['textbook']:.2f}x (best of {args.repeats}); "
          f"per repeat {' '.join(f'{r:.2f}' for r in pairs)}, median {statistics.median(pairs):.2f}x")

if __name__ == "__main__":
    main()
