"""Runs launched from the dashboard keep their weights; Compare shows which have them and deleting a run
deletes them."""

from pathlib import Path

import pytest
import torch

from cnnlab.runs.store import RunStore
from tests.dashboard.test_train_compare_pages import launch_tiny_run


@pytest.mark.slow  # launches workers from the page
def test_dashboard_runs_save_weights_compare_shows_them_and_delete_removes_them(app, new_app):
    _, run_id = launch_tiny_run(new_app, "lenet", "with weights")
    run = RunStore().get(run_id)
    assert run.weights_path and Path(run.weights_path).parent == RunStore().run_dir(run_id)
    state = torch.load(run.weights_path, weights_only=True)
    assert state["conv1.weight"].shape == (6, 1, 5, 5)
    app.switch_page("views/compare.py").run()
    table = next(df.value for df in app.dataframe if "best test acc" in df.value.columns)
    assert table.set_index("id").loc[run_id, "weights"] == True  # noqa: E712 (a numpy bool)
    app.selectbox(key="delete_run").set_value(run_id).run()
    app.checkbox(key=f"delete_confirm_{run_id}").check().run()
    app.button(key="delete_button").click().run()
    assert not app.exception and RunStore().list_runs() == []
    assert not Path(run.weights_path).exists()
