"""The timeline: which stretches of time were up, down, or unknown."""

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sre.ledger import Ledger, Round
from sre.timeline import (
    DOWN,
    UNKNOWN,
    UP,
    Segment,
    daily_totals,
    human_duration,
    ledger_totals,
    segments,
    totals,
)


def rnd(started: float, ok: bool, interval: float = 10.0, took: float = 0.5) -> Round:
    return Round(0, started, started + took, interval, ok)


def test_each_round_vouches_until_the_next():
    segs = segments([rnd(0, True), rnd(10, False), rnd(20, True)], 0, 30)
    assert segs == [Segment(0, 10, UP), Segment(10, 20, DOWN), Segment(20, 30, UP)]


def test_a_gap_is_unknown_never_up():
    # The monitor was away from 15 (1.5 intervals after its round at 0) until 100.
    segs = segments([rnd(0, True), rnd(100, True)], 0, 110)
    assert segs == [Segment(0, 15, UP), Segment(15, 100, UNKNOWN), Segment(100, 110, UP)]


def test_time_before_the_first_and_after_the_last_round_is_unknown():
    segs = segments([rnd(50, True)], 0, 100)
    assert segs == [Segment(0, 50, UNKNOWN), Segment(50, 65, UP), Segment(65, 100, UNKNOWN)]


def test_a_slow_round_vouches_for_its_own_duration():
    segs = segments([rnd(0, False, interval=10, took=30), rnd(30, True)], 0, 40)
    assert segs == [Segment(0, 30, DOWN), Segment(30, 40, UP)]


def test_overlapping_rounds_do_not_count_twice():
    # Two monitors on one ledger: rounds interleave, and simultaneous ones count as failed.
    segs = segments([rnd(0, True), rnd(0, False), rnd(5, True), rnd(10, False)], 0, 20)
    assert totals(segs).total == 20
    assert segs[0] == Segment(0, 5, DOWN)


def test_totals_clip_to_the_window():
    segs = [Segment(0, 10, UP), Segment(10, 20, DOWN)]
    assert totals(segs, 5, 15).up == 5
    assert totals(segs, 5, 15).down == 5


def test_human_duration():
    assert human_duration(12.4) == "12 s"
    assert human_duration(245) == "4 min 05 s"
    assert human_duration(3 * 3600 + 120) == "3 h 02 min"
    assert human_duration(-30) == "-30 s"


@given(
    st.lists(
        st.tuples(st.floats(0, 1000), st.booleans(), st.floats(0.1, 50), st.floats(0, 40)),
        max_size=30,
    ),
    st.floats(-100, 500),
    st.floats(0, 1500),
)
def test_up_down_and_unknown_always_add_up_to_the_window(raw, start, length):
    rounds = [Round(0, s, s + took, interval, ok) for s, ok, interval, took in raw]
    segs = segments(rounds, start, start + length)
    assert abs(totals(segs).total - length) < 1e-6
    assert all(a.end <= b.start for a, b in pairwise(segs))


@given(
    st.lists(
        st.tuples(st.floats(0, 3 * 86400), st.booleans(), st.floats(1, 5000), st.floats(0, 900)),
        max_size=30,
    ),
    st.floats(0, 86400),
    st.floats(0, 2 * 86400),
)
def test_sqlite_sums_agree_with_the_segments(raw, start, length):
    rounds = [Round(0, s, s + took, interval, ok) for s, ok, interval, took in raw]
    end = start + length
    expected = totals(segments(rounds, start, end))
    with Ledger(":memory:") as ledger:
        for r in rounds:
            ledger.record_round(r.started, r.finished, r.interval, r.ok, [])
        got = ledger_totals(ledger, start, end)
        per_day = daily_totals(ledger, 0.0, 3, end)
    assert got.up == pytest.approx(expected.up, abs=1e-6)
    assert got.down == pytest.approx(expected.down, abs=1e-6)
    assert got.unknown == pytest.approx(expected.unknown, abs=1e-6)
    assert sum(day.down for _, day in per_day) == pytest.approx(
        totals(segments(rounds, 0.0, min(end, 3 * 86400))).down, abs=1e-6
    )
    assert all(day.unknown >= -1e-6 for _, day in per_day)
