"""A teacher pins a run for the class on Compare (AppTest, a real run store): every user then sees it
first and marked; a student gets no pin control."""

import pytest

from cnnlab.access import Actor
from cnnlab.runs.store import RunStore
from cnnlab.train.status import Status


@pytest.fixture
def three_runs(tmp_path, monkeypatch) -> list[int]:
    path = tmp_path / "class.toml"
    path.write_text('teachers = ["prof"]\nstudents_see = "all"\n')
    monkeypatch.setenv("CNNLAB_CLASS_CONFIG", str(path))
    store = RunStore()
    ids = []
    for owner in ("alice", "bob", "carol"):
        ids.append(store.create_run({"epochs": 1}, name=f"{owner}'s", model="lenet", dataset="shapes",
                                    owner=owner))
        store.finish(ids[-1], Status.DONE)
    return ids


def compare_as(new_app, monkeypatch, user: str):
    monkeypatch.setenv("CNNLAB_USER", user)
    app = new_app()
    app.switch_page("views/compare.py").run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    return app


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_teachers_pin_puts_the_run_first_and_marked_for_every_user(new_app, monkeypatch, three_runs):
    alice, _, _ = three_runs
    app = compare_as(new_app, monkeypatch, "prof")
    assert list(app.dataframe[0].value["name"]) == ["carol's", "bob's", "alice's"]
    app.selectbox(key="class_pin_run").select(alice).run()
    assert app.button(key="class_pin_button").label == "Pin for the class"
    app.button(key="class_pin_button").click().run()
    assert not app.exception and RunStore().get(alice).class_pinned is True
    for user in ("bob", "carol", "prof"):
        table = compare_as(new_app, monkeypatch, user).dataframe[0].value
        assert list(table["name"]) == ["alice's", "carol's", "bob's"], user
        assert list(table["class pin"]) == ["📌", "", ""], user


def test_a_student_has_no_pin_control(new_app, monkeypatch, three_runs):
    app = compare_as(new_app, monkeypatch, "alice")
    assert [box.key for box in app.selectbox if box.key == "class_pin_run"] == []
    assert [b.key for b in app.button if b.key == "class_pin_button"] == []


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_teacher_unpins(new_app, monkeypatch, three_runs):
    alice = three_runs[0]
    RunStore().pin_for_class(alice, actor=Actor("prof", "teacher"))
    app = compare_as(new_app, monkeypatch, "prof")
    app.selectbox(key="class_pin_run").select(alice).run()
    assert app.button(key="class_pin_button").label == "Unpin for the class"
    app.button(key="class_pin_button").click().run()
    assert RunStore().get(alice).class_pinned is False
    assert list(compare_as(new_app, monkeypatch, "bob").dataframe[0].value["class pin"]) == ["", "", ""]
