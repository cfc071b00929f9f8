"""The ETA of a running run: interpolated from the last report, counting down, never going up."""

import pytest

from cnnlab.reports.eta import Countdown, eta_seconds


def test_eta_follows_the_rate_of_the_last_report_and_the_clock():
    # a quarter done 30 s after the start: 90 s to go at that moment, 80 s ten seconds later
    assert eta_seconds(started_at=100, fraction=0.25, seen_at=130, now=130) == 90
    assert eta_seconds(started_at=100, fraction=0.25, seen_at=130, now=140) == 80
    assert eta_seconds(started_at=100, fraction=0.25, seen_at=130, now=500) == 0  # late: not negative
    assert eta_seconds(started_at=100, fraction=0.0, seen_at=130, now=140) is None  # no report yet
    assert eta_seconds(started_at=100, fraction=1.0, seen_at=130, now=140) is None


def test_the_countdown_never_goes_up_between_or_at_reports():
    countdown = Countdown()
    shown = []
    # reports every 10 s; the run slows down after the second one, which would raise a naive estimate
    reports = {110: 0.1, 120: 0.2, 130: 0.22, 140: 0.24, 150: 0.4}
    fraction = 0.0
    for now in range(110, 160):
        fraction = reports.get(now, fraction)
        shown.append(countdown.update(started_at=100, fraction=fraction, now=now))
    assert shown[0] == pytest.approx(90)  # 10 % in 10 s: 90 s left
    assert shown[1] == pytest.approx(89)  # one second later, no new report: one second less
    assert all(b <= a for a, b in zip(shown, shown[1:], strict=False))
    # at 130 s the naive estimate is 30 · 0.78 / 0.22 = 106 s, above the countdown's 70 s: not shown
    assert shown[20] == pytest.approx(70)
    # at 150 s a faster report (40 % in 50 s: 75 s left) is still above the countdown (50 s)
    assert shown[40] == pytest.approx(50)
