"""Run and group labels name what differs from the model's and the launching page's defaults."""

from cnnlab.reports.labels import group_differences, model_words, run_label
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input

PAGE = {"optimizer": "adam", "lr": 0.01}  # the Train page's first values


def test_a_run_at_the_pages_defaults_is_named_by_model_and_data_only():
    assert run_label(model_config("lenet"), "mnist", None, {"epochs": 10, "optimizer": "adam", "lr": 0.01,
                                                            "batch_size": 128}, PAGE) == "lenet on mnist"


def test_sgd_at_a_large_rate_names_the_optimiser_and_the_rate():
    assert run_label(model_config("lenet"), "mnist", None, {"epochs": 3, "optimizer": "sgd", "lr": 0.9},
                     PAGE) == "lenet on mnist · epochs=3 lr=0.9 optimizer=sgd"


def test_a_quarter_width_vgg_at_64_px_says_so():
    model = fit_input(model_config("vgg11", width_divisor=4), "mnist", 64)
    assert model_words(model, 64) == "vgg11 ÷4 at 64 px"
    assert run_label(model, "mnist", 64, {"epochs": 3, "optimizer": "adam", "lr": 0.01}, PAGE) == \
        "vgg11 ÷4 at 64 px on mnist · epochs=3"


def test_an_empty_rate_and_the_device_are_left_out_a_seed_is_not():
    assert run_label(model_config("lenet"), "shapes", None, {"lr": None, "seed": 4, "device": "cpu"},
                     PAGE) == "lenet on shapes · seed=4"


def config(lr: float, divisor: int, seed: int) -> dict:
    model = fit_input(model_config("vgg11", width_divisor=divisor), "shapes", 32)
    return RunConfig(model=model, dataset="shapes", resize=32, lr=lr, seed=seed, optimizer="adam").to_dict()


def test_groups_of_a_sweep_are_named_by_the_values_that_differ_between_them():
    groups = {4: [config(0.001, 2, s) for s in range(3)], 5: [config(0.01, 2, s) for s in range(3)],
              6: [config(0.01, 4, s) for s in range(3)]}
    assert group_differences(groups) == {4: "lr=0.001 width_divisor=2", 5: "lr=0.01 width_divisor=2",
                                    6: "lr=0.01 width_divisor=4"}


def test_a_lone_group_or_groups_of_the_same_settings_differ_in_nothing():
    same = [config(0.01, 2, s) for s in range(2)]
    assert group_differences({7: same}) == {7: ""}
    assert group_differences({7: same, 8: same}) == {7: "", 8: ""}
