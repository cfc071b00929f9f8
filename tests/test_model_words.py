"""The model words of a spec rebuild it through the CLI's own argument parsing."""

import argparse

import pytest

from cnnlab.cli.options import add_model_arguments, model_config_from_args
from cnnlab.model_words import model_words
from cnnlab.spec import model_config


@pytest.mark.parametrize("model, options, words", [
    ("vgg11", {"width_divisor": 4}, "vgg11 --width-divisor 4"),
    ("vgg:1x8,1x16", {"batch_norm": True, "fc_width": 64}, "vgg:1x8,1x16 --fc-width 64 --batch-norm"),
    ("resnet50", {"stem": "cifar", "width_divisor": 2}, "resnet50 --stem cifar --width-divisor 2"),
    ("alexnet", {"fc_width": 1024}, "alexnet --fc-width 1024"),
    ("lenet", {"classes": 7}, "lenet"),  # classes are fitted to the dataset by `train`
])
def test_the_words_rebuild_the_model(model, options, words):
    arch = model_config(model, **options).arch
    assert model_words(arch) == words
    parser = argparse.ArgumentParser()
    add_model_arguments(parser)
    rebuilt = model_config_from_args(parser.parse_args([*words.split(), "--classes", str(arch.classes)]))
    assert rebuilt.arch == arch


def test_a_field_without_an_option_is_named_after_a_plus():
    from cnnlab.families.alexnet import AlexNetSpec

    assert model_words(AlexNetSpec(dropout=0.25)) == "alexnet + dropout=0.25"  # a spec file can set it
