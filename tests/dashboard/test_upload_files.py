"""Uploaded model files: a refused upload (a visitor's too) leaves no file and is one error; an accepted
one is written to its owner's folder, which keeps only the owner's newest UPLOADS_KEPT."""

import os

import torch
from torch import nn

from cnnlab.limits import UPLOADS_KEPT
from cnnlab.runs.store import resolve_home
from dashboard.model_upload import VISITORS, keep
from tests.dashboard.conftest import shown
from tests.dashboard.test_own_model_pages import exported, upload
from tests.test_exported import d2l_lenet


def files_under(folder) -> list[str]:  # noqa: ANN001
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_an_owner_keeps_only_their_newest_uploads(tmp_path):
    home = resolve_home()
    written = []
    for i in range(UPLOADS_KEPT + 2):
        path = keep(f"model {i}".encode(), "alice")
        os.utime(path, ns=(i * 10**9, i * 10**9))  # upload i is the i-th oldest
        written.append(path.name)
    keep(b"bob's", "bob")
    assert files_under(home / "models" / "alice") == sorted(written[2:])  # the two oldest removed
    assert len(files_under(home / "models" / "bob")) == 1
    again = keep(b"model 2", "alice")  # the same file again is the newest, not a new one
    assert again.name == written[2]
    assert files_under(home / "models" / "alice") == sorted(written[2:])


def test_a_refused_upload_leaves_no_file(app):
    app.run()
    upload(app, b"this is no model", "junk.pt2")
    assert [shown(e) for e in app.error] == [
        "Could not load junk.pt2: junk.pt2 is not a model saved with torch.export.save: it is not a .pt2 "
        "(zip) archive"]
    assert files_under(resolve_home()) == []


def test_nan_weights_are_one_error_and_no_file(app):
    model = d2l_lenet()
    with torch.no_grad():
        model[0].weight[0, 0, 0, 0] = float("nan")
    app.run()
    upload(app, exported(model, (1, 28, 28)), "nan.pt2")
    assert [shown(e) for e in app.error] == [
        "Could not load nan.pt2: the model file's weights hold NaN or infinite values (0.weight); every map "
        "and field of this model would be NaN"]
    assert files_under(resolve_home()) == []


def test_an_accepted_upload_is_kept_in_its_owners_folder(app, monkeypatch):
    monkeypatch.setenv("CNNLAB_USER", "carol")
    app.run()
    upload(app, exported(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()), (1, 28, 28)), "mine.pt2")
    assert not app.error
    (kept,) = files_under(resolve_home() / "models")
    assert kept.startswith("carol/") and kept.endswith(".pt2")
    assert VISITORS not in kept
