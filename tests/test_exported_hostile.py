"""Hostile model files: each is refused in one line (exit 2 on the CLI) before it costs memory — the JSON
is bounded in bytes, containers and depth before it is parsed, every weight is checked against the bytes
its file really holds before anything is copied, and module and weight names never replace a module's
own attributes."""

import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.exported import load
from cnnlab.limits import MAX_MODEL_JSON_CONTAINERS, MAX_MODEL_JSON_MIB, MAX_MODULE_DEPTH
from tests.test_exported import d2l_lenet, rewritten, save

ROOT = Path(__file__).parents[1]
PROGRAM = "models/model.json"
WEIGHTS = "data/weights/model_weights_config.json"


@pytest.fixture(scope="module")
def lenet(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return save(d2l_lenet(), (1, 28, 28), tmp_path_factory.mktemp("hostile") / "lenet.pt2")


def edited(source: Path, target: Path, part: str, change) -> Path:  # noqa: ANN001
    """A copy of `source` whose JSON entry `part` is `change(its parsed JSON)` (edited in place)."""
    def rewrite(name: str, data: bytes) -> bytes:
        if not name.endswith(part):
            return data
        value = json.loads(data)
        change(value)
        return json.dumps(value).encode()
    return rewritten(source, target, rewrite)


def with_entry(source: Path, target: Path, part: str, write) -> Path:  # noqa: ANN001
    """A copy of `source` whose entry `part` is deflated from what `write(stream)` writes, in chunks."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename.endswith(part):
                with new.open(info.filename, "w", force_zip64=True) as stream:
                    write(stream)
            else:
                new.writestr(info.filename, old.read(info.filename))
    return target


def inflated_program(mib: int):  # noqa: ANN202
    """The probe's bomb: `mib` MiB of `{},` under a key nobody reads (250 MB deflate to a few hundred KB)."""
    def write(stream) -> None:  # noqa: ANN001
        stream.write(b'{"unused": [')
        chunk = b"{}," * 2**18
        for _ in range(mib * 4 // 3):
            stream.write(chunk)
        stream.write(b'{}], "graph_module": {}}')
    return write


def zero_stride(weights: dict) -> None:
    """LeNet's first weight as a 20000×20000 view of its 150 values: 1.6 GB if materialised."""
    meta = weights["config"]["0.weight"]["tensor_meta"]
    meta["sizes"] = [{"as_int": 20000}, {"as_int": 20000}]
    meta["strides"] = [{"as_int": 0}, {"as_int": 0}]


def module_named(path: str):  # noqa: ANN202
    """The Sigmoid after the first convolution called at module path `path`."""
    def change(program: dict) -> None:
        for node in program["graph_module"]["graph"]["nodes"]:
            stack = node["metadata"]["nn_module_stack"]
            node["metadata"]["nn_module_stack"] = stack.replace("L__self__1,1,", f"L__self__1,{path},")
    return change


def nested(depth: int):  # noqa: ANN202
    def change(program: dict) -> None:
        node = program["graph_module"]["graph"]["nodes"][0]
        node["metadata"]["nn_module_stack"] += "".join(f";k{i},m{i},torch.nn.Module" for i in range(depth))
    return change


def weight_named(name: str):  # noqa: ANN202
    """One more weight, named `name` (a copy of the first bias's description)."""
    def change(weights: dict) -> None:
        weights["config"][name] = weights["config"]["0.bias"]
    return change


@pytest.fixture(scope="module")
def hostile(lenet, tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """Every hostile file, with the one line the CLI prints for it."""
    folder = tmp_path_factory.mktemp("files")
    program = PROGRAM

    def raw(name: str, part: str, data: bytes) -> Path:
        return with_entry(lenet, folder / name, part, lambda stream: stream.write(data))

    files = {
        "bomb.pt2": (with_entry(lenet, folder / "bomb.pt2", PROGRAM, inflated_program(66)),
                     f"bomb.pt2: {program} unpacks to 66.0 MiB; at most {MAX_MODEL_JSON_MIB} MiB"),
        "deep.pt2": (raw("deep.pt2", PROGRAM, b"[" * 100_000 + b"]" * 100_000),
                     f"deep.pt2 is not a model saved with torch.export.save: {program} is nested too deeply"),
        "wide.pt2": (raw("wide.pt2", PROGRAM, b"[" + b"[]," * MAX_MODEL_JSON_CONTAINERS + b"[]]"),
                     f"wide.pt2: {program} holds {MAX_MODEL_JSON_CONTAINERS + 2:,} objects and arrays; "
                     f"at most {MAX_MODEL_JSON_CONTAINERS:,}"),
        "stride.pt2": (edited(lenet, folder / "stride.pt2", WEIGHTS, zero_stride),
                       "stride.pt2 is not a model saved with torch.export.save: weight 0.weight has "
                       "400,000,000 values but its file holds 150"),
        "nesting.pt2": (edited(lenet, folder / "nesting.pt2", PROGRAM, nested(1500)),
                        f"nesting.pt2 nests 1,501 module calls; at most {MAX_MODULE_DEPTH}"),
        "dunder.pt2": (edited(lenet, folder / "dunder.pt2", PROGRAM, module_named("__class__")),
                       "dunder.pt2 is not a model saved with torch.export.save: a module is named "
                       "'__class__' ('Sigmoid')"),
        "training.pt2": (edited(lenet, folder / "training.pt2", PROGRAM, module_named("training")),
                         "the model file names a module or weight 'training', which would replace "
                         "Sequential's own 'training'"),
        "root.pt2": (edited(lenet, folder / "root.pt2", PROGRAM, module_named("root")),
                     "the model file names a module or weight 'root', which would replace Sequential's "
                     "own 'root'"),
        "forward.pt2": (edited(lenet, folder / "forward.pt2", WEIGHTS, weight_named("0.forward")),
                        "the model file names a module or weight '0.forward', which would replace "
                        "Conv2d's own 'forward'"),
        "empty.pt2": (edited(lenet, folder / "empty.pt2", WEIGHTS, weight_named("")),
                      "empty.pt2 is not a model saved with torch.export.save: a weight is named ''"),
        "nan.pt2": (rewritten(lenet, folder / "nan.pt2", lambda n, d: struct.pack("<f", float("nan")) + d[4:]
                              if n.endswith("weights/weight_0") else d),
                    "the model file's weights hold NaN or infinite values (0.weight); every map and "
                    "field of this model would be NaN"),
    }
    return files


@pytest.mark.parametrize("name", ["bomb.pt2", "deep.pt2", "wide.pt2", "stride.pt2", "nesting.pt2",
                                  "dunder.pt2", "training.pt2", "root.pt2", "forward.pt2", "empty.pt2",
                                  "nan.pt2"])
def test_each_hostile_file_is_one_line_and_exit_2(hostile, name, capsys):
    path, message = hostile[name]
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert str(refused.value) == message
    assert main(["summary", str(path)]) == 2
    assert capsys.readouterr().err == f"cnnlab: error: {message}\n"


@pytest.fixture(scope="module")
def probes_bomb(lenet, tmp_path_factory) -> Path:
    """The probe's own size: 240 MiB of JSON in a file of a few hundred KB (theirs: 283 KB)."""
    return with_entry(lenet, tmp_path_factory.mktemp("bomb") / "bomb.pt2", PROGRAM, inflated_program(240))


PEAK = """
import resource, sys
from cnnlab.cli import main
main(["summary", {good!r}])  # warm, on a good file: every import and lazy initialisation done once
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
code = main(["summary", {path!r}])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(code, (after - before) // 1024)
"""
PEAK_BOUND_MIB = 32  # what refusing a hostile file may add to the process's peak resident memory


@pytest.mark.slow
@pytest.mark.parametrize("name", ["probe's bomb", "stride.pt2"])
def test_the_two_costly_shapes_are_refused_within_a_small_peak(lenet, hostile, probes_bomb, name):
    """The probe: the bomb cost the CLI 6.95 GB, the zero-stride weight 1.5 GB; refused, each adds at
    most PEAK_BOUND_MIB to the peak (ru_maxrss of a fresh process, measured around the second call)."""
    path = probes_bomb if name == "probe's bomb" else hostile[name][0]
    if path == probes_bomb:
        assert path.stat().st_size < 2**20
    out = subprocess.run([sys.executable, "-c", PEAK.format(good=str(lenet), path=str(path))],
                         capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
    code, grown_mib = map(int, out.stdout.splitlines()[-1].split())
    assert code == 2
    assert grown_mib <= PEAK_BOUND_MIB
