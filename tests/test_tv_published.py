"""Every torchvision classifier at its weights' crop size against the figures torchvision publishes
with them (`weights.meta`: `num_params`, and `_ops` in GMACs, rounded to 3 decimals). The weights are
never downloaded: `meta` is metadata in the package."""

import pytest
from torchvision.models import get_model_weights

from cnnlab import analyze
from cnnlab.families.tv import tv_models

# Inception v3's auxiliary classifier, left out by cnnlab, counted by torchvision: a 1×1 conv 768→128
# with batch norm (98,304 + 256), a 5×5 conv 128→768 with batch norm (2,457,600 + 1,536) and a linear
# 768→1000 layer (769,000).
AUX = {"inception_v3": 3_326_696}
# A sample that spans the kinds for the fast tier: plain, branches with an auxiliary head, depthwise
# and squeeze-excitation at 240 px, attention (windows, global, einsum-based), ViT at 518 px, and a
# model whose published figure (0.04 GMACs) is rounded coarser than 1%.
SAMPLE = ["resnet18", "inception_v3", "efficientnet_b1", "swin_t", "maxvit_t", "shufflenet_v2_x0_5"]


def check_against_published(name: str) -> None:
    weights = get_model_weights(name).DEFAULT
    crop = weights.transforms.keywords["crop_size"]
    summary = analyze(f"tv:{name}", f"3x{crop}x{crop}", classes=len(weights.meta["categories"]))
    assert summary.totals.params + AUX.get(name, 0) == weights.meta["num_params"]
    assert (f"{AUX[name]:,} parameters" in " ".join(summary.notes)) if name in AUX else not summary.notes
    published = weights.meta["_ops"] * 1e9
    assert abs(summary.totals.macs - published) <= max(0.01 * published, 0.0005e9)


@pytest.mark.parametrize("name", SAMPLE)
def test_a_sample_matches_torchvision_published_figures(name):
    check_against_published(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in tv_models() if n not in SAMPLE])
def test_every_classifier_matches_torchvision_published_figures(name):
    check_against_published(name)


def test_all_80_classifiers_are_in_the_list():
    assert len(tv_models()) == 80
