"""The Build page's registry-driven controls: the seq layer table, "start from", the tv picker, code."""

import pytest

from cnnlab import analyze
from cnnlab.families import FAMILIES
from cnnlab.units import format_count
from tests.dashboard.conftest import shown

LENET = "seq:c5-6p2,sig,a2,c5-16,sig,a2,fc120,sig,fc84,sig,fc10"


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def layer_table(at):
    return next(df.value for df in at.dataframe if "output_shape" in df.value.columns)


def seq_app(app):
    app.run()
    app.selectbox(key="family").select(FAMILIES["seq"].label).run()
    return app


def edit(app, **changes):
    app.session_state["seq_layers"] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [], **changes}
    app.run()


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_the_family_list_is_the_registry(app):
    app.run()
    assert app.selectbox(key="family").options == [f.label for f in FAMILIES.values()]


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_seq_starts_as_lenet_and_a_cell_edit_changes_the_analysis(app):
    seq_app(app)
    assert not app.exception and not app.error
    assert app.query_params["model"] == LENET
    assert metric(app, "Parameters") == format_count(analyze("lenet").totals.params)
    edit(app, edited_rows={0: {"kernel": 3, "padding": "1"}})  # conv1: 5×5 -> 3×3
    expected = "seq:c3-6p1,sig,a2,c5-16,sig,a2,fc120,sig,fc84,sig,fc10"
    assert not app.error and app.query_params["model"] == expected
    assert metric(app, "Parameters") == format_count(analyze(expected).totals.params)
    assert layer_table(app)["output_shape"].iloc[0] == "6×28×28"


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_rows_are_added_deleted_and_moved(app):
    seq_app(app)
    edit(app, added_rows=[{"type": "drop", "p": 0.25}], deleted_rows=[1])  # drop sig1, add dropout at the end
    assert app.query_params["model"] == "seq:c5-6p2,a2,c5-16,sig,a2,fc120,sig,fc84,sig,drop0.25,fc10"
    edit(app, edited_rows={9: {"#": 0.5}})  # the dropout moves to the front; the table is renumbered
    assert not app.exception
    assert app.query_params["model"] == "seq:drop0.25,c5-6p2,a2,c5-16,sig,a2,fc120,sig,fc84,sig,fc10"
    table = next(df.value for df in app.dataframe if "type" in df.value.columns and "#" in df.value.columns)
    assert list(table["#"]) == list(range(1, 11)) and table["type"].iloc[0] == "drop"


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_bad_row_names_the_layer_and_the_page_keeps_working(app):
    seq_app(app)
    edit(app, edited_rows={3: {"kernel": 30}})  # conv2 30×30 on a 14×14 map
    assert [shown(e) for e in app.error] == [
        "layer 4 of 11 (conv 30×30): input map 14×14 is smaller than the kernel; "
        "this network needs at least 62×62"]
    assert app.query_params["model"] == LENET  # still the last valid model
    edit(app, edited_rows={3: {"kernel": 3}})
    assert not app.error and app.query_params["model"].startswith("seq:c5-6p2,sig,a2,c3-16,")


def test_a_fractional_cell_is_refused_not_cut(app):
    seq_app(app)
    edit(app, edited_rows={0: {"kernel": 3.5}})  # conv1 3.5×3.5: not read as 3
    assert [shown(e) for e in app.error] == ["layer 1 of 11 (row 1): kernel must be a whole number, got 3.5"]
    assert app.query_params["model"] == LENET  # still the last valid model


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_start_from_a_preset_fills_the_table_and_the_input(app):
    seq_app(app)
    app.selectbox(key="seq_start").select("vgg11").run()
    assert not app.exception and not app.error
    vgg = analyze("vgg11")
    assert metric(app, "Parameters") == format_count(vgg.totals.params)
    assert app.text_input(key="in_size").value == "224"
    assert len(layer_table(app)) == len(vgg.layers)  # seq is flat: every layer is a row


@pytest.mark.slow  # page runs of seconds of CPU each
def test_a_tv_model_is_picked_and_analysed(app):
    app.run()
    app.selectbox(key="family").select(FAMILIES["tv"].label).run()
    app.selectbox(key="tv_name").select("mobilenet_v3_small").run()
    assert not app.exception and not app.error
    assert app.query_params["model"] == "tv:mobilenet_v3_small" and app.query_params["input"] == "3x224x224"
    expected = analyze("tv:mobilenet_v3_small", "3x224x224")
    assert metric(app, "Parameters") == format_count(expected.totals.params)
    no_code = next(shown(c) for c in app.caption if "No PyTorch code" in c.value)
    assert "tv:mobilenet_v3_small has no code export: the torchvision family holds torchvision's" in no_code


@pytest.mark.slow
def test_a_timm_model_is_picked_and_analysed_and_a_bad_input_is_an_error(app):
    """Slow: the page's training-memory chart simulates a step of the model."""
    app.run(timeout=600)
    app.selectbox(key="family").select(FAMILIES["timm"].label).run(timeout=600)
    app.selectbox(key="timm_name").select("efficientnet_b0").run(timeout=600)
    assert not app.exception and not app.error
    assert app.query_params["model"] == "timm:efficientnet_b0"
    expected = analyze("timm:efficientnet_b0", app.query_params["input"])
    assert metric(app, "Parameters") == format_count(expected.totals.params)
    app.selectbox(key="in_channels").select(1).run(timeout=600)
    assert not app.exception
    assert any("timm:efficientnet_b0 cannot run on a 1x" in shown(e) for e in app.error)


@pytest.mark.slow  # page runs of seconds of CPU each
def test_the_code_download_offers_a_python_file_for_cnnlab_models_only(app):
    """The file's content is held to cnnlab's build in tests/test_code_export.py; AppTest keeps a
    download's bytes only during its run, so here: the button, its file type, and its absence for tv."""
    app.run()
    app.selectbox(key="family").select("LeNet").run()
    button = next(b for b in app.get("download_button") if b.proto.id.endswith("download_code"))
    assert button.proto.label == "Download PyTorch code" and button.proto.url.endswith(".py")
    app.selectbox(key="family").select(FAMILIES["tv"].label).run()
    assert not any(b.proto.id.endswith("download_code") for b in app.get("download_button"))


def test_a_seq_link_reproduces_the_table(app):
    app.query_params["model"] = "seq:c3-8p1,bn,relu,m2,fc10"
    app.query_params["input"] = "3x32x32"
    app.run()
    assert not app.exception and not app.error
    table = next(df.value for df in app.dataframe if "#" in df.value.columns)
    assert list(table["type"]) == ["conv", "bn", "relu", "max"]
    assert app.selectbox(key="family").value == FAMILIES["seq"].label


def in_order(node) -> list:
    """The page's elements in the order they are drawn (blocks walked depth first)."""
    children = getattr(node, "children", None)
    if children is None:
        return [node]
    return [leaf for key in sorted(children) for leaf in in_order(children[key])]


def test_a_type_change_blanks_the_cells_the_new_type_does_not_take(app):
    seq_app(app)
    edit(app, edited_rows={0: {"type": "relu"}})  # conv1 (kernel 5, out 6, padding 2, bias) becomes a ReLU
    assert not app.exception and not app.error
    assert app.query_params["model"] == "seq:relu,sig,a2,c5-16,sig,a2,fc120,sig,fc84,sig,fc10"
    table = next(df.value for df in app.dataframe if "type" in df.value.columns and "#" in df.value.columns)
    first = table.iloc[0]
    assert first["type"] == "relu" and first[["kernel", "out", "stride", "padding", "bias"]].isna().all()
    assert table.iloc[3][["kernel", "out"]].tolist() == [5, 16]  # conv2 keeps its own


def test_a_bad_rows_reason_is_drawn_right_under_the_table(app):
    seq_app(app)
    edit(app, edited_rows={0: {"kernel": 3.5}})
    elements = in_order(app.main)
    table = next(i for i, e in enumerate(elements) if getattr(e, "key", None) == "seq_layers")
    error = next(i for i, e in enumerate(elements) if e.type == "error")
    assert shown(elements[error]) == "layer 1 of 11 (row 1): kernel must be a whole number, got 3.5"
    assert error == table + 1  # the next element drawn after the table, not in the results column
