"""`cnnlab sweep`: a grid or random sweep of MODEL's options on Ray Tune, every trial a recorded run."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from cnnlab import limits
from cnnlab.cli.options import CLUSTER_ADDRESSES, add_home_argument
from cnnlab.cli.train import add_run_arguments, run_config_from_args
from cnnlab.errors import ConfigError
from cnnlab.tables import aligned

if TYPE_CHECKING:
    from cnnlab.runs.rows import Run

EXAMPLE = "e.g. cnnlab sweep lenet --grid lr=0.001,0.01,0.1 --repeats 3 --early-stop asha"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from cnnlab.sweep.space import sweep_params

    parser = sub.add_parser(
        "sweep", help="sweep hyper-parameters or model options on Ray (here, or on a cluster)",
        description="Train MODEL once per combination of the --grid values (× --samples draws of the "
                    "--random ones × --repeats seeds) on Ray Tune. Options not swept are those of "
                    f"`cnnlab train`. Sweepable: {', '.join(sweep_params())}. {EXAMPLE}")
    runs = add_run_arguments(parser)["run"]
    space = parser.add_argument_group("sweep")
    space.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                       help="values to try (models: separate them with ;, e.g. model=vgg:1x8,1x16;lenet)")
    space.add_argument("--random", action="append", default=[], metavar="NAME=LOW..HIGH",
                       help="a range to draw from (log-uniform for lr and weight_decay) or choices A,B")
    space.add_argument("--samples", type=int, default=1, metavar="N", help="random draws (default 1)")
    space.add_argument("--repeats", type=int, default=1, metavar="K", help="seeds per combination")
    space.add_argument("--early-stop", choices=("asha",), help="end clearly worse trials early (ASHA)")
    space.add_argument("--cluster", metavar="ADDRESS",
                       help=f"an existing Ray cluster: {CLUSTER_ADDRESSES} "
                           "(default: start Ray on this machine)")
    space.add_argument("--yes", action="store_true",
                       help=f"launch a sweep of more than {limits.SWEEP_CONFIRM_TRIALS} trials")
    runs.add_argument("--name", help="a name for the sweep (default: MODEL sweep)")
    add_home_argument(runs)
    runs.add_argument("--background", action="store_true", help="launch detached, print the sweep id, return")
    runs.add_argument("--sweep-id", type=int, help=argparse.SUPPRESS)  # the detached driver's form
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnnlab import sweep
    from cnnlab.sweep import driver

    if args.sweep_id is not None:
        if args.model is not None or args.home is None:
            raise ConfigError("the driver form is: sweep --sweep-id N --home DIR")
        driver.execute(args.sweep_id, home=args.home)
        return 0
    if args.model is None:
        raise ConfigError(f"sweep needs a MODEL ({EXAMPLE})")
    space = sweep.parse_space(args.grid, args.random, samples=args.samples, repeats=args.repeats)
    base = run_config_from_args(args).to_dict()
    if args.lr is None:
        base["lr"] = None  # each trial's optimiser takes its own default rate
    sweep_id = sweep.create_sweep(base, space, early_stop=args.early_stop, cluster=args.cluster,
                                  name=args.name, home=args.home, confirmed=args.yes)
    from cnnlab.runs.store import RunStore

    store = RunStore(args.home)
    runs = store.sweep_runs(sweep_id)
    home = f" --home {args.home}" if args.home else ""
    print(f"sweep {sweep_id}: {len(runs)} trials (runs {runs[0].id}-{runs[-1].id}) on "
          f"{args.cluster or 'this machine'}; cancel it: python -m cnnlab runs cancel sweep:{sweep_id}{home}",
          file=sys.stderr)
    if args.background:
        sweep.launch_sweep(sweep_id, home=args.home)
        return 0
    final = driver.execute(sweep_id, home=args.home, ended=_print_trial)
    runs = store.sweep_runs(sweep_id)
    print(render_trials(runs, final.spec["varied"]))
    return 0 if final.status == "done" else 1


def _print_trial(run: Run) -> None:
    acc = "-" if run.final_test_acc is None else f"{run.final_test_acc:.3f}"
    print(f"run {run.id} {run.status} after {run.epochs_done or 0:g} epochs: test acc {acc}  ({run.name})",
          file=sys.stderr)


def render_trials(runs: list[Run], varied: list[str]) -> str:
    """One line per trial, best test accuracy first, the best marked with *."""
    from cnnlab.sweep import param_value

    ranked = sorted(runs, key=lambda r: -1.0 if r.final_test_acc is None else r.final_test_acc, reverse=True)
    body = [("*" if i == 0 and r.final_test_acc is not None else "", str(r.id), r.status,
             *(_text(param_value(r.config, name)) for name in varied),
             f"{r.epochs_done or 0:g}", "-" if r.final_test_acc is None else f"{r.final_test_acc:.3f}")
            for i, r in enumerate(ranked)]
    return "\n".join(aligned(("", "Run", "Status", *varied, "Epochs", "Test acc"), body,
                             right={1, len(varied) + 3, len(varied) + 4}))


def _text(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
