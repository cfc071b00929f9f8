"""Lessons: a number out of its range, or none, is an error naming the field and its range, and the
panel's result does not stay under it."""

import pytest

from tests.dashboard.conftest import shown


@pytest.mark.parametrize("typed, got", [("100000", "100000"), ("0", "0"), ("", "nothing"), ("2e3", "2e3")])
def test_a_channel_count_out_of_range_is_refused_with_the_range(app, typed, got):
    app.switch_page("views/lessons.py").run()
    panels = len(app.subheader)
    app.text_input(key="stack2_c").input(typed).run()
    assert not app.exception
    assert [shown(e) for e in app.error] == [f"Channels C must be a whole number from 1 to 1,024, got {got}."]
    # The panel shows no result for the old value: its title, finding and table are gone, the others stay.
    assert len(app.subheader) == panels - 1
    assert "2 × 3×3 against one 5×5" not in [s.value for s in app.subheader]
    assert not any(shown(i).startswith("Field 5 against 5;") for i in app.info)
    app.text_input(key="stack2_c").input("32").run()
    assert not app.error and len(app.subheader) == panels
    # two 3×3 layers hold 2·9·C² weights against 25·C² for one 5×5: 1 − 18/25 = 28% fewer, at any C
    assert "Field 5 against 5; at C = 32 the stack has 28% fewer parameters and MACs." in \
        [shown(i) for i in app.info]
