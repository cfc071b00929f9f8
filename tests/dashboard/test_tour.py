"""The first-minute tour, through AppTest: each step is one click to its page with its model.
(AppTest runs the page alone after a page switch, so each step starts from a fresh app.)"""

import pytest

from tests.dashboard.conftest import shown


def test_the_strip_offers_the_six_steps(app):
    app.run()
    assert not app.exception
    assert [b.label for b in app.button if b.key and b.key.startswith("tour_")] == [
        "1 · LeNet", "2 · Small VGG", "3 · 3×3 vs 5×5", "4 · A unit's field", "5 · Short run",
        "6 · Compare", "✕"]


@pytest.mark.parametrize(("step", "title", "params"), [
    (0, "Build a network", {"model": "lenet", "input": "1x28x28"}),
    (1, "Build a network", {"model": "vgg11", "input": "1x224x224", "width_divisor": "4"}),
])
def test_a_step_opens_its_page_with_its_model(app, step, title, params):
    app.run()
    app.button(key=f"tour_{step}").click().run()
    assert not app.exception and not app.error
    assert app.title[0].value == title
    assert {k: app.query_params[k] for k in params} == params
    if step == 0:
        assert app.selectbox(key="family").value == "LeNet" and len(app.dataframe[0].value) == 12
    else:
        assert shown(app.subheader[0]) == "vgg11 (width divisor 4) · input 1x224x224 · 10 classes"


def test_the_tour_goes_away_once_dismissed(app):
    app.run()
    app.button(key="tour_hide").click().run()
    app.run()
    assert not [b for b in app.button if b.key and b.key.startswith("tour_")]
    assert app.title[0].value == "Build a network"
