"""Game time: a day is the window [start_hour, end_hour) cut into ticks of tick_minutes."""

from __future__ import annotations

from dataclasses import dataclass


class ClockError(ValueError):
    pass


@dataclass(frozen=True)
class DayWindow:
    start_hour: int = 8
    end_hour: int = 20
    tick_minutes: int = 15

    def __post_init__(self):
        if not (0 <= self.start_hour < 24 and 0 < self.end_hour <= 24):
            raise ClockError("start-hour must be 0..23 and end-hour 1..24")
        if self.end_hour <= self.start_hour:
            raise ClockError(f"end-hour ({self.end_hour}) must be after start-hour ({self.start_hour})")
        if self.tick_minutes < 1 or self.window_minutes % self.tick_minutes:
            raise ClockError(
                f"tick-minutes ({self.tick_minutes}) must divide the day window "
                f"of {self.window_minutes} minutes"
            )

    @property
    def window_minutes(self) -> int:
        return (self.end_hour - self.start_hour) * 60

    @property
    def ticks_per_day(self) -> int:
        return self.window_minutes // self.tick_minutes

    def day_of(self, tick: int) -> int:
        """Days count from 1."""
        return tick // self.ticks_per_day + 1

    def minute_of_day(self, tick: int) -> int:
        return self.start_hour * 60 + (tick % self.ticks_per_day) * self.tick_minutes

    def hour_of(self, tick: int) -> int:
        return self.minute_of_day(tick) // 60

    def first_tick(self, day: int) -> int:
        return (day - 1) * self.ticks_per_day

    def is_day_start(self, tick: int) -> bool:
        return tick % self.ticks_per_day == 0

    def is_day_end(self, tick: int) -> bool:
        return tick % self.ticks_per_day == self.ticks_per_day - 1

    def ticks_for(self, minutes: int) -> int:
        return max(1, -(-minutes // self.tick_minutes))

    def label(self, tick: int) -> str:
        minute = self.minute_of_day(tick)
        return f"day {self.day_of(tick)} {minute // 60:02d}:{minute % 60:02d}"

    def game_minutes(self, tick: int) -> int:
        """Absolute game minutes since day 1 00:00, for memory recency."""
        return (self.day_of(tick) - 1) * 24 * 60 + self.minute_of_day(tick)
