"""The run a session's Train page watches: its own launches in order, never the newest run anywhere."""

from cnnlab.reports.follow import after_launch, follow


def test_a_first_launch_is_watched_even_when_another_sessions_run_is_newer_and_running():
    assert after_launch(None, [], 12, {11: "running", 12: "queued", 13: "queued"}) == 12


def test_a_second_launch_waits_while_the_first_of_the_session_runs():
    status = {2: "running", 3: "queued"}
    assert after_launch(2, [2], 3, status) == 2
    assert follow(2, [2, 3], status) == 2  # #2 still running: stay
    assert follow(2, [2, 3], {2: "done", 3: "running"}) == 3  # #2 ended: on to #3
    assert follow(3, [2, 3], {2: "done", 3: "done"}) == 3  # the last one stays when it ends


def test_a_launch_takes_the_panel_from_a_run_picked_by_hand_or_an_ended_one():
    assert after_launch(5, [2], 7, {2: "running", 5: "running", 7: "queued"}) == 7  # 5 is not ours
    assert after_launch(2, [2], 7, {2: "failed", 7: "queued"}) == 7


def test_a_run_picked_by_hand_is_kept_when_it_ends():
    assert follow(5, [2, 7], {2: "done", 5: "done", 7: "running"}) == 5


def test_following_skips_runs_that_ended_meanwhile_and_earlier_ones():
    status = {1: "queued", 2: "done", 3: "cancelled", 4: "queued", 6: "running"}
    assert follow(2, [1, 2, 3, 4, 6], status) == 4
