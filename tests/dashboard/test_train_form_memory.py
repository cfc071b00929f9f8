"""The Train page's form (and its sweep panel's) kept for the session and in the link: going to another
page and back, or opening the link in a new session, gives the same form."""

from tests.dashboard.test_train_form import errors, open_train, widget


def leave_and_come_back(app):
    """Go to Compare and back to Train as the navigation bar does: the link's parameters are dropped."""
    app.switch_page("views/compare.py").run()
    for key in list(app.query_params):
        del app.query_params[key]
    app.switch_page("views/train.py").run()
    assert not app.exception


def test_the_links_form_survives_a_visit_to_compare(new_app):
    app = open_train(new_app, dataset="shapes-rgb", epochs="3", optimizer="sgd", lr="0.9")
    leave_and_come_back(app)
    assert (app.selectbox(key="dataset").value, widget(app, "epochs").value, widget(app, "optimizer").value,
            widget(app, "lr").value) == ("shapes-rgb", 3, "sgd", 0.9)
    assert (app.query_params["dataset"], app.query_params["epochs"], app.query_params["lr"]) == \
        ("shapes-rgb", "3", "0.9")  # and back in the link


def test_typed_values_and_the_sweep_panel_survive_a_visit_to_compare(new_app):
    app = open_train(new_app)
    widget(app, "batch_size").set_value(32)
    app.text_input(key="run_name").input("first try")
    app.text_area(key="sweep_grid").input("lr=0.001,0.01")
    widget(app, "sweep_epochs").set_value(2)
    app.number_input(key="sweep_repeats").set_value(3)
    app.run()
    assert (app.query_params["batch_size"], app.query_params["run_name"], app.query_params["sweep_grid"],
            app.query_params["sweep_epochs"], app.query_params["sweep_repeats"]) == \
        ("32", "first try", "lr=0.001,0.01", "2", "3")
    link = dict(app.query_params)
    leave_and_come_back(app)
    assert (widget(app, "batch_size").value, app.text_input(key="run_name").value,
            app.text_area(key="sweep_grid").value, widget(app, "sweep_epochs").value,
            app.number_input(key="sweep_repeats").value) == (32, "first try", "lr=0.001,0.01", 2, 3)
    reopened = open_train(new_app, **{k: v for k, v in link.items() if k != "model"})
    assert (widget(reopened, "batch_size").value, reopened.text_input(key="run_name").value,
            reopened.text_area(key="sweep_grid").value, widget(reopened, "sweep_epochs").value,
            reopened.number_input(key="sweep_repeats").value) == (32, "first try", "lr=0.001,0.01", 2, 3)


def test_a_bad_sweep_value_in_the_link_is_named(new_app):
    app = open_train(new_app, sweep_repeats="0")
    assert errors(app) == ["The link's training options could not all be used: URL parameter "
                           "sweep_repeats='0' is not a whole number from 1 to 100"]
    assert app.number_input(key="sweep_repeats").value == 1
