"""User text (URL values, run names, errors quoting them) is shown as typed, never as Markdown or HTML."""

import re
import sqlite3

import pytest

from cnnlab import ConfigError
from cnnlab.runs.store import RunStore
from dashboard.model_state import checked, from_params
from dashboard.text import literal, plot_lines, plot_text
from tests.dashboard.conftest import shown, text_node, unescape

# A character that Markdown would act on, not preceded by the backslash that makes it literal.
UNESCAPED = re.compile(r"(?<!\\)[\[\]()!<>*_`#|~:$&]")
# What GFM turns into a link in a text node: bare URLs and e-mail addresses.
GFM_AUTOLINK = re.compile(r"(?i)(https?://|ftp://|www\.|[-.+\w]+@[-\w]+(?:\.[-\w]+)+)")
HOSTILE = ["![x](http://host/px.png)", "[click](http://host)", "<img src=x onerror=alert(1)>",
           "bare https://host/x and www.host.org and me@host.org",
           "**bold** _it_ `code` # head", ":red[alert] $x^2$ &amp; ~~gone~~", "\\[not a link\\](x)"]


@pytest.mark.parametrize("text", HOSTILE)
def test_literal_shows_exactly_the_text_and_leaves_nothing_for_markdown_to_act_on(text):
    shown = literal(text)
    assert unescape(shown) == text
    assert UNESCAPED.search(shown.replace("\\\\", "")) is None
    assert GFM_AUTOLINK.search(text_node(shown)) is None


def test_plot_lines_breaks_a_long_title_at_spaces_and_escapes_each_line():
    shown = plot_lines("Run 12: lenet on mnist · epochs=3 lr=0.001 <b>batch</b> & more words here", 20)
    assert shown == ("Run 12: lenet on<br>mnist · epochs=3<br>lr=0.001<br>&lt;b&gt;batch&lt;/b&gt; &amp; more"
                     "<br>words here")
    assert plot_lines("short", 20) == "short" and plot_lines("", 20) == ""


def test_plot_text_shows_tags_instead_of_making_links():
    shown = plot_text('<a href="http://host">run</a> & co')
    assert shown == '&lt;a href="http://host"&gt;run&lt;/a&gt; &amp; co'


@pytest.mark.parametrize(("param", "value"), [("model", "![x](http://host/px.png)"),
                                              ("width_divisor", "[click](http://host)"),
                                              ("input", "<img src=x onerror=alert(1)>")])
def test_a_hostile_link_value_is_shown_literally_in_the_error(app, param, value):
    with pytest.raises(ConfigError) as err:
        checked(from_params({param: value}))
    app.query_params[param] = value
    app.run()
    assert not app.exception
    [error] = app.error
    assert shown(error) == (f"The link's model could not be used: {err.value}. "
                                                "Showing VGG-11 instead.")
    assert value in str(err.value)
    assert UNESCAPED.search(error.value.replace("\\\\", "")) is None  # no link, image or tag to render
    assert GFM_AUTOLINK.search(text_node(error.value)) is None


def test_run_names_and_errors_are_shown_literally_on_the_train_page(app, tmp_path):
    store = RunStore()
    run_id = store.create_run({"epochs": 1}, name="[click](http://host) **run**", model="lenet",
                              dataset="shapes")
    store.finish(run_id, "failed", error="bad input ![x](http://host/px.png)")
    app.switch_page("views/train.py").run()
    assert not app.exception
    [error] = [e for e in app.error if "bad input" in shown(e)]
    assert shown(error) == "bad input ![x](http://host/px.png)"
    assert UNESCAPED.search(error.value.replace("\\\\", "")) is None
    progress = app.get("progress")[0].proto.text
    assert UNESCAPED.search(progress.replace("\\\\", "")) is None


def test_a_damaged_row_is_listed_and_a_damaged_store_is_one_error_on_both_pages(new_app):
    store = RunStore()
    good = store.create_run({"epochs": 1}, name="good", model="lenet", dataset="shapes")
    bad = store.create_run({"epochs": 1}, name="bad", model="lenet", dataset="shapes")
    store.finish(good, "done")
    sqlite3.connect(store.path, isolation_level=None).execute("UPDATE runs SET config='{' WHERE id=?", (bad,))
    compare = new_app()
    compare.switch_page("views/compare.py").run()
    assert not compare.exception and not compare.error
    table = next(df.value for df in compare.dataframe if "best test acc" in df.value.columns)
    assert dict(zip(table["id"], table["status"], strict=True)) == {good: "done", bad: "damaged"}
    sqlite3.connect(store.path, isolation_level=None).execute("DROP TABLE metrics")
    for page in ("views/compare.py", "views/train.py"):
        app = new_app()
        app.switch_page(page).run()
        assert not app.exception, page
        [error] = [e for e in app.error if "run store" in shown(e)]  # (Train also checks its launch)
        assert shown(error).startswith(
            f"The run store cannot be read: the run store {store.path} is damaged or unreadable (no table "
            "metrics); it was left as it is")
