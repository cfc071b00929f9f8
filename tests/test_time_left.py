"""The time left in a run (`seconds_left`), from the steps done and the time they took."""

from cnnlab.spec import model_config
from cnnlab.train.callbacks import Reporter
from cnnlab.train.callbacks.eta import FORWARD_SHARE, seconds_left
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.fit import fit
from cnnlab.train.loop import WARMUP_STEPS


def test_the_training_still_to_do_at_the_measured_rate_plus_the_evaluations_to_come():
    # 2 ms an example, 3,000 examples left, 2 evaluations of 1.5 s: 6 + 3 = 9 s.
    assert seconds_left(0.002, 3000, 2, 1.5) == 9.0
    assert seconds_left(0.002, 0, 0, 1.5) == 0.0
    # Before the first evaluation: a third of a training example's time per test example.
    assert FORWARD_SHARE * 0.003 * 1000 == 1.0


def test_every_report_after_the_warm_up_carries_the_time_left_and_the_last_is_zero():
    reports = []
    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), limit_train=256, limit_test=64,
                       batch_size=64, epochs=2, device="cpu", speed="fixed", optimizer="adam", lr=0.01)
    result = fit(config, [Reporter(lambda step, epoch, metrics: reports.append((step, metrics)))])
    assert result.status == "done" and result.steps == 8
    warm_up = [metrics for step, metrics in reports if step <= WARMUP_STEPS]  # nothing timed yet
    assert [step for step, _ in reports][:2] == [1, 2] and all("seconds_left" not in m for m in warm_up)
    lefts = [metrics["seconds_left"] for step, metrics in reports if step > WARMUP_STEPS]
    assert len(lefts) == len(reports) - len(warm_up) >= 3 and all(left >= 0 for left in lefts)
    assert reports[-1][1] == {"test_acc": result.final_test_acc, "examples_per_sec": result.examples_per_sec,
                              "seconds_left": 0.0}
