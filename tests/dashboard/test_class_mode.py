"""Class mode in the pages (AppTest, a real run store): visitors, quotas through the page, who sees and
deletes what. The proxy's identity itself is checked behind a real nginx (tests/e2e/test_class_nginx.py)."""

import pytest

from cnnlab.classroom import SECRET_HEADER, parse_class_config
from cnnlab.errors import ConfigError
from cnnlab.runs.store import RunStore
from cnnlab.train.status import Status
from cnnlab.usernames import MAX_USER_NAME
from dashboard.identity import proxy_user
from tests.dashboard.conftest import shown

SECRET = "s3cret-shared-with-nginx"
PROXY = f'[identity]\nproxy_header = "X-Forwarded-User"\nproxy_secret = "{SECRET}"\n'


def test_the_proxy_header_counts_only_with_the_proxys_secret_on_loopback():
    config = parse_class_config({"identity": {"proxy_header": "X-Forwarded-User", "proxy_secret": SECRET}})
    sent = {"X-Forwarded-User": "alice", SECRET_HEADER: SECRET}
    assert proxy_user(sent, config, "127.0.0.1") == "alice"
    assert proxy_user({"X-Forwarded-User": "alice"}, config, "127.0.0.1") is None
    assert proxy_user({**sent, SECRET_HEADER: SECRET[:-1] + "X"}, config, "127.0.0.1") is None
    assert proxy_user(sent, config, "0.0.0.0") is None
    assert proxy_user(sent, config, "") is None
    assert proxy_user(sent, parse_class_config({}), "127.0.0.1") is None
    for hostile in ("<img src=x onerror=alert(1)>", "a" * (MAX_USER_NAME + 1), "bob smith"):
        with pytest.raises(ConfigError, match="the X-Forwarded-User header is not a valid user name"):
            proxy_user({**sent, "X-Forwarded-User": hostile}, config, "127.0.0.1")


def test_a_visitor_gets_only_the_visitor_pages_read_only(new_app, class_config):
    class_config('visitor_pages = ["Build", "Lessons"]\n' + PROXY)
    app = new_app()
    app.run()
    assert not app.exception
    assert shown(app.caption[0]) == "Visitor: read-only."
    for page in ("train", "compare", "see"):  # not offered: the navigation has only Build and Lessons
        with pytest.raises(ValueError, match=f"Could not find a navigation page for .*views/{page}.py"):
            app.switch_page(f"views/{page}.py")
    app.switch_page("views/lessons.py").run()
    assert not app.exception and app.title[0].value == "Lessons"


def test_a_class_config_that_cannot_be_read_is_one_error_in_the_page(new_app, class_config):
    class_config("teachers = 3\n")
    app = new_app()
    app.run()
    assert not app.exception
    assert [shown(e) for e in app.error] == [
        f"class config {app_config_path(class_config)}: teachers must be a list of user names"]


def app_config_path(_) -> str:
    import os

    return os.environ["CNNLAB_CLASS_CONFIG"]


def launch(new_app, params: dict[str, str], epochs: int, resize: str = "native"):
    app = new_app()
    for key, value in params.items():
        app.query_params[key] = value
    app.switch_page("views/train.py").run()
    app.selectbox(key="resize").select(resize).run()
    app.number_input(key="epochs").set_value(epochs)
    app.number_input(key="limit_train").set_value(100)
    next(b for b in app.button if b.label == "Launch run").click().run()
    assert not app.exception
    return app


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_quota_refuses_a_launch_from_the_page_and_nothing_is_recorded(new_app, class_config, monkeypatch):
    monkeypatch.setenv("CNNLAB_USER", "alice")
    class_config("[quotas]\nepochs = 5\nrun_compute = 50000000\n")
    app = launch(new_app, {"model": "lenet"}, 7)
    assert [shown(e) for e in app.error] == [
        "quota epochs refused the launch: 7 epochs in one run, the limit is 5 (2 over); nothing was recorded"]
    # a bigger model through the link is no way round the compute budget
    app = launch(new_app, {"model": "vgg11", "width_divisor": "8"}, 2, resize="32")
    assert any(shown(e).startswith("quota run_compute refused the launch") for e in app.error), [
        shown(e) for e in app.error]
    assert RunStore().list_runs() == []


def runs_of(owners: list[str]) -> list[int]:
    store = RunStore()
    ids = []
    for owner in owners:
        ids.append(store.create_run({"epochs": 1}, name=f"{owner}'s", model="lenet", dataset="shapes",
                                    owner=owner))
        store.finish(ids[-1], Status.DONE)
    return ids


@pytest.mark.parametrize(("user", "see", "listed", "deletable"), [
    ("alice", "all", ["bob's", "alice's"], ["alice's"]),
    ("alice", "own", ["alice's"], ["alice's"]),
    ("prof", "own", ["bob's", "alice's"], ["bob's", "alice's"]),
])
def test_compare_lists_and_deletes_by_role(new_app, class_config, monkeypatch, user, see, listed, deletable):
    monkeypatch.setenv("CNNLAB_USER", user)
    class_config(f'teachers = ["prof"]\nstudents_see = "{see}"\n')
    runs_of(["alice", "bob"])
    app = new_app()
    app.switch_page("views/compare.py").run()
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["name"]) == listed and list(table["owner"]) == [n[:-2] for n in listed]
    delete = app.selectbox(key="delete_run")
    assert [label.split(" [")[0].split(" ", 1)[1] for label in delete.options] == deletable


@pytest.mark.slow  # launches workers from the page
def test_in_class_mode_the_sweep_cluster_is_the_servers_whatever_a_client_sends(new_app, class_config,
                                                                                monkeypatch):
    monkeypatch.setenv("CNNLAB_USER", "alice")
    class_config("[quotas]\nepochs = 5\n")
    app = new_app()
    app.query_params["model"] = "lenet"
    app.switch_page("views/train.py").run()
    field = app.text_input(key="sweep_cluster")
    assert field.disabled and field.value == ""
    app.session_state["sweep_cluster"] = "127.0.0.1:1"  # a hostile client's value for the disabled field
    app.number_input(key="sweep_epochs").set_value(1)
    app.number_input(key="sweep_limit_train").set_value(64)
    app.number_input(key="sweep_repeats").set_value(2)
    app.button(key="sweep_launch").click().run()
    assert not app.exception and not app.error
    runs = RunStore().list_runs()
    assert len(runs) == 2 and [run.cluster for run in runs] == [None, None]  # this machine's queue
