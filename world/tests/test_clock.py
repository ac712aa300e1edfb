"""Game time: ticks, days and the day window."""

import pytest

from world.engine.clock import ClockError, DayWindow


def test_a_default_day_runs_from_eight_to_eight_in_quarter_hours():
    window = DayWindow()
    assert (window.start_hour, window.end_hour, window.tick_minutes) == (8, 20, 15)
    assert window.window_minutes == 12 * 60
    assert window.ticks_per_day == 48


@pytest.mark.parametrize(
    ("start", "end", "minutes", "ticks"),
    [(8, 20, 15, 48), (0, 24, 60, 24), (9, 17, 30, 16), (6, 7, 1, 60), (0, 24, 1440, 1)],
)
def test_ticks_per_day_is_the_window_cut_into_ticks(start, end, minutes, ticks):
    assert DayWindow(start, end, minutes).ticks_per_day == ticks


def test_days_count_from_one_and_roll_over_after_the_last_tick():
    window = DayWindow(8, 20, 15)
    assert [window.day_of(t) for t in (0, 1, 47, 48, 95, 96)] == [1, 1, 1, 2, 2, 3]


def test_minute_of_day_starts_at_the_start_hour_each_day():
    window = DayWindow(8, 20, 15)
    assert window.minute_of_day(0) == 8 * 60
    assert window.minute_of_day(1) == 8 * 60 + 15
    assert window.minute_of_day(47) == 19 * 60 + 45
    assert window.minute_of_day(48) == 8 * 60
    assert window.hour_of(5) == 9


def test_first_tick_of_a_day_is_where_that_day_starts():
    window = DayWindow(9, 17, 30)
    assert [window.first_tick(day) for day in (1, 2, 3)] == [0, 16, 32]
    for day in (1, 2, 3):
        first = window.first_tick(day)
        assert window.day_of(first) == day and window.is_day_start(first)
        assert window.minute_of_day(first) == 9 * 60
    for day in (2, 3):
        last_of_previous = window.first_tick(day) - 1
        assert window.day_of(last_of_previous) == day - 1 and window.is_day_end(last_of_previous)
        assert window.minute_of_day(last_of_previous) == 16 * 60 + 30


def test_a_day_has_exactly_one_start_and_one_end_tick():
    window = DayWindow(8, 12, 30)
    ticks = range(window.first_tick(2), window.first_tick(3))
    assert [t for t in ticks if window.is_day_start(t)] == [window.first_tick(2)]
    assert [t for t in ticks if window.is_day_end(t)] == [window.first_tick(3) - 1]


def test_labels_name_the_day_and_the_clock_time():
    window = DayWindow(8, 20, 15)
    assert window.label(0) == "day 1 08:00"
    assert window.label(5) == "day 1 09:15"
    assert window.label(47) == "day 1 19:45"
    assert window.label(48 + 9) == "day 2 10:15"


def test_game_minutes_grow_across_days_and_skip_the_night():
    window = DayWindow(8, 20, 15)
    assert window.game_minutes(0) == 8 * 60
    assert window.game_minutes(48) == 24 * 60 + 8 * 60
    assert window.game_minutes(48) - window.game_minutes(47) == 12 * 60 + 15


def test_durations_round_up_to_whole_ticks_and_never_to_zero():
    window = DayWindow(8, 20, 15)
    assert [window.ticks_for(m) for m in (1, 15, 16, 30, 60, 0)] == [1, 1, 2, 2, 4, 1]


@pytest.mark.parametrize(("start", "end"), [(12, 10), (9, 9), (20, 8)])
def test_it_refuses_an_end_hour_that_is_not_after_the_start_hour(start, end):
    with pytest.raises(ClockError, match=rf"end-hour \({end}\) must be after start-hour \({start}\)"):
        DayWindow(start, end, 15)


@pytest.mark.parametrize(("start", "end"), [(-1, 10), (24, 25), (8, 25), (0, 0)])
def test_it_refuses_hours_outside_the_clock(start, end):
    with pytest.raises(ClockError):
        DayWindow(start, end, 15)


@pytest.mark.parametrize("minutes", [7, 25, 50, 0, -15, 721])
def test_it_refuses_tick_minutes_that_do_not_divide_the_day(minutes):
    with pytest.raises(ClockError, match=rf"tick-minutes \({minutes}\) must divide the day window of 720"):
        DayWindow(8, 20, minutes)


def test_clock_errors_are_one_line():
    for args in ((12, 10, 15), (8, 20, 7)):
        with pytest.raises(ClockError) as caught:
            DayWindow(*args)
        assert "\n" not in str(caught.value)
