"""The headline table of two models (one definition for `cnnlab compare` and the Build page)."""

from cnnlab.analysis import analyze
from cnnlab.reports.headline import headline_rows


def test_lenet_against_itself_reads_its_published_figures_and_ratios_of_one():
    lenet = analyze("lenet")
    rows = {label: (a, b, ratio) for label, a, b, ratio in headline_rows(lenet, lenet, missing="-")}
    # d2l's LeNet: 61,706 parameters; float32: 61,706 × 4 B = 241.0 KiB; field 5 → 6 → 14 → 16 px
    assert rows["Parameters"] == ("61.71K", "61.71K", "1×")
    assert rows["Weight memory"] == ("241.0 KiB", "241.0 KiB", "1×")
    assert rows["Receptive field"] == ("16 px", "16 px", "1×")
    assert list(rows) == ["Parameters", "MACs per image", "Weight memory", "Activation memory",
                          "Receptive field"]


def test_a_model_without_a_receptive_field_gets_the_missing_mark():
    mlp, lenet = analyze("seq:fc32,relu,fc10", "1x28x28"), analyze("lenet")
    (field,) = [row for row in headline_rows(lenet, mlp, missing="—") if row[0] == "Receptive field"]
    assert field == ("Receptive field", "16 px", "—", "—")
