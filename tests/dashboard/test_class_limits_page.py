"""A See request over the class's limits is one error naming the limit, refused before any work starts;
a teacher is not capped."""

from cnnlab.classroom import active_class
from dashboard import jobs
from tests.dashboard.conftest import shown


def test_a_field_over_the_class_limit_is_refused_before_it_starts(app, tmp_path, monkeypatch):
    path = tmp_path / "class.toml"
    path.write_text("[limits]\nfield_images = 8\n")
    monkeypatch.setenv("CNNLAB_CLASS_CONFIG", str(path))
    monkeypatch.setenv("CNNLAB_USER", "alice")
    assert active_class().limits.field_images == 8
    running = len(jobs.pool().running())
    app.query_params["model"] = "lenet"
    app.switch_page("views/see.py").run()  # the page's default: 16 images for LeNet
    assert [shown(e) for e in app.error] == [
        "16 images for an effective field: the class allows 8 (limits.field_images in the class config)"]
    assert len(jobs.pool().running()) == running  # nothing was submitted
    app.text_input(key="see_images").input("8").run()
    assert not app.error and not app.exception
