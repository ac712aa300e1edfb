"""Scenario files: the YAML that describes a town (tile map, locations, activities, agents,
relationships, scripted events), validated with pydantic. Errors come out as one line naming the
file, the place in it and the problem, so a command can print it and exit non-zero."""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

NEEDS = ("energy", "hunger", "social", "fun")
LOCATION_KINDS = (
    "home",
    "cafe",
    "office",
    "park",
    "gym",
    "market",
    "board",
    "library",
    "school",
    "clinic",
    "workshop",
    "plaza",
    "restaurant",
    "shop",
)
CATEGORIES = ("work", "social", "wellness", "leisure", "food", "rest", "errand", "learning")
DEFAULT_LEGEND = {"#": "wall", ".": "path", ",": "grass", "~": "water", "=": "floor"}
WALKABLE = {"path", "grass", "floor"}
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScenarioError(Exception):
    """One problem in one file, printable as a single line."""

    def __init__(self, path: str | Path, where: str, problem: str):
        self.path, self.where, self.problem = str(path), where, problem
        super().__init__(f"{self.path}: {where}: {problem}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MapSpec(_Strict):
    rows: list[str] = Field(min_length=2)
    legend: dict[str, Literal["wall", "path", "grass", "water", "floor"]] = Field(
        default_factory=lambda: dict(DEFAULT_LEGEND)
    )

    @field_validator("rows")
    @classmethod
    def _rectangular(cls, rows: list[str]) -> list[str]:
        if len({len(r) for r in rows}) != 1:
            raise ValueError("map rows must all have the same length")
        return rows


class LocationSpec(_Strict):
    name: str = Field(min_length=1, max_length=80)
    kind: Literal[LOCATION_KINDS]  # type: ignore[valid-type]
    area: tuple[int, int, int, int]  # x0, y0, x1, y1 inclusive
    capacity: int = Field(ge=1)
    open_hours: tuple[int, int] = (0, 24)

    @field_validator("area")
    @classmethod
    def _ordered(cls, area):
        x0, y0, x1, y1 = area
        if x0 > x1 or y0 > y1 or min(area) < 0:
            raise ValueError("area must be [x0, y0, x1, y1] with x0<=x1, y0<=y1, all >= 0")
        return area

    @field_validator("open_hours")
    @classmethod
    def _hours(cls, hours):
        if not (0 <= hours[0] < hours[1] <= 24):
            raise ValueError("open_hours must be [open, close] with 0 <= open < close <= 24")
        return hours


class ActivitySpec(_Strict):
    name: str = Field(min_length=1, max_length=80)
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    duration_minutes: int = Field(ge=1, le=24 * 60)
    locations: list[Literal[LOCATION_KINDS]] = Field(min_length=1)  # type: ignore[valid-type]
    effects: dict[Literal[NEEDS], float] = Field(default_factory=dict)  # type: ignore[valid-type]
    prompt_template: str = "{agent} is {activity} at {place}."


class MemorySpec(_Strict):
    text: str = Field(min_length=1, max_length=500)
    importance: int = Field(default=5, ge=1, le=10)
    shareable: bool = True


class AgentSpec(_Strict):
    name: str = Field(min_length=1, max_length=80)
    bio: str = ""
    traits: list[str] = Field(default_factory=list)
    interests: dict[str, float] = Field(default_factory=dict)
    family: dict[str, str] = Field(default_factory=dict)
    home: str
    job: str = ""
    workplace: str | None = None
    work_hours: tuple[int, int] = (9, 17)
    speed: float = Field(default=1.0, gt=0, le=10)  # tiles per game minute
    memories: list[MemorySpec | str] = Field(default_factory=list)

    @field_validator("interests")
    @classmethod
    def _weights(cls, interests):
        for key, weight in interests.items():
            if not 0 <= weight <= 1:
                raise ValueError(f"interest {key!r} weight must be between 0 and 1")
        return interests


class RelationshipSpec(_Strict):
    a: str
    b: str
    score: float = Field(ge=-100, le=100)
    kind: str = "acquaintance"


class ScriptedEventSpec(_Strict):
    time: str
    day: int | None = Field(default=None, ge=1)
    place: str
    participants: list[str] = Field(default_factory=list)
    description: str = Field(min_length=1, max_length=500)
    kind: str = "gathering"
    duration_minutes: int = Field(default=60, ge=1, le=24 * 60)

    @field_validator("time")
    @classmethod
    def _time(cls, value):
        if not TIME_RE.match(value):
            raise ValueError("time must be HH:MM")
        return value

    @property
    def minute_of_day(self) -> int:
        hours, minutes = self.time.split(":")
        return int(hours) * 60 + int(minutes)


class ScenarioSpec(_Strict):
    name: str = Field(min_length=1, max_length=80)
    description: str = ""
    map: MapSpec
    locations: list[LocationSpec] = Field(min_length=1)
    activities: list[ActivitySpec] = Field(min_length=1)
    agents: list[AgentSpec] = Field(default_factory=list)
    relationships: list[RelationshipSpec] = Field(default_factory=list)
    events: list[ScriptedEventSpec] = Field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.map.rows[0])

    @property
    def height(self) -> int:
        return len(self.map.rows)


# Pydantic names the member of a union (`memories: list[MemorySpec | str]`) in an error's location;
# people reading the error know the file, not our classes, so those parts are left out.
_UNION_TAGS = {"MemorySpec", "str"}


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        if part in _UNION_TAGS:
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _read_yaml(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(path, "(file)", exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise ScenarioError(path, "(file)", "not UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "(yaml)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(path, where, f"YAML syntax error: {problem}") from None


def _validate(model, data, path: Path):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ScenarioError(path, _where(first["loc"]), first["msg"]) from None


def load_scenario(path: str | Path) -> ScenarioSpec:
    """Read, validate and cross-check a scenario file."""
    path = Path(path)
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ScenarioError(path, "(top)", "a scenario must be a mapping")
    spec = _validate(ScenarioSpec, data, path)
    check_integrity(spec, path)
    return spec


def load_scripted_events(path: str | Path, places: set[str], agents: set[str]) -> list[ScriptedEventSpec]:
    """Read an extra scripted-events file (a YAML/JSON list, or a mapping with `events`)."""
    path = Path(path)
    data = _read_yaml(path)
    prefix = ""
    if isinstance(data, dict):
        data, prefix = data.get("events"), "events"
    if not isinstance(data, list):
        raise ScenarioError(path, prefix or "(top)", "scripted events must be a list of events")
    events = []
    for index, item in enumerate(data):
        where = f"{prefix}[{index}]"
        if not isinstance(item, dict):
            raise ScenarioError(path, where, "an event must be a mapping")
        try:
            events.append(ScriptedEventSpec.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ScenarioError(path, f"{where}.{_where(first['loc'])}", first["msg"]) from None
    _check_events(events, places, agents, path, prefix=prefix)
    return events


def anchor_of(area) -> tuple[int, int]:
    """The tile agents walk to when they go to a location: the centre of its area."""
    x0, y0, x1, y1 = area
    return (x0 + x1) // 2, (y0 + y1) // 2


def tile_kinds(spec: ScenarioSpec) -> list[list[str]]:
    legend = spec.map.legend
    return [[legend.get(ch, "wall") for ch in row] for row in spec.map.rows]


def check_integrity(spec: ScenarioSpec, path: Path) -> None:
    """Cross-references and geometry pydantic cannot see."""
    _check_map(spec, path)
    names = _unique([loc.name for loc in spec.locations], path, "locations")
    _check_locations(spec, path)
    _unique([a.name for a in spec.activities], path, "activities")
    agents = _unique([a.name for a in spec.agents], path, "agents")
    kinds = {loc.name: loc.kind for loc in spec.locations}
    for i, agent in enumerate(spec.agents):
        where = f"agents[{i}]"
        if agent.home not in names:
            raise ScenarioError(path, f"{where}.home", f"unknown location {agent.home!r}")
        if kinds[agent.home] != "home":
            # Agents sleep at home whatever its hours; a venue that closes would hold them anyway.
            raise ScenarioError(path, f"{where}.home", f"{agent.home!r} is a {kinds[agent.home]}, not a home")
        if agent.workplace is not None and agent.workplace not in names:
            raise ScenarioError(path, f"{where}.workplace", f"unknown location {agent.workplace!r}")
        for relation, other in agent.family.items():
            if other not in agents:
                raise ScenarioError(path, f"{where}.family.{relation}", f"unknown agent {other!r}")
        if not 0 <= agent.work_hours[0] < agent.work_hours[1] <= 24:
            raise ScenarioError(path, f"{where}.work_hours", "must be [start, end], 0<=start<end<=24")
    residents: dict[str, int] = {}
    capacity = {loc.name: loc.capacity for loc in spec.locations}
    for i, agent in enumerate(spec.agents):
        residents[agent.home] = residents.get(agent.home, 0) + 1
        if residents[agent.home] > capacity[agent.home]:
            raise ScenarioError(
                path, f"agents[{i}].home", f"{agent.home!r} is full (capacity {capacity[agent.home]})"
            )
    pairs: set[tuple[str, str]] = set()
    for i, rel in enumerate(spec.relationships):
        for side in ("a", "b"):
            if getattr(rel, side) not in agents:
                raise ScenarioError(
                    path, f"relationships[{i}].{side}", f"unknown agent {getattr(rel, side)!r}"
                )
        if rel.a == rel.b:
            raise ScenarioError(path, f"relationships[{i}]", "an agent cannot relate to itself")
        if (rel.a, rel.b) in pairs:
            raise ScenarioError(path, f"relationships[{i}]", f"duplicate relationship {rel.a!r} -> {rel.b!r}")
        pairs.add((rel.a, rel.b))
    _check_events(spec.events, names, agents, path, prefix="events")


def _unique(names: list[str], path: Path, section: str) -> set[str]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ScenarioError(path, f"{section}[{i}].name", f"duplicate name {name!r}")
        seen.add(name)
    return seen


def _check_map(spec: ScenarioSpec, path: Path) -> None:
    legend = spec.map.legend
    for y, row in enumerate(spec.map.rows):
        for x, ch in enumerate(row):
            if ch not in legend:
                raise ScenarioError(path, f"map.rows[{y}][{x}]", f"character {ch!r} not in legend")


def _check_locations(spec: ScenarioSpec, path: Path) -> None:
    kinds = tile_kinds(spec)
    taken: dict[tuple[int, int], str] = {}
    for i, loc in enumerate(spec.locations):
        x0, y0, x1, y1 = loc.area
        if x1 >= spec.width or y1 >= spec.height:
            raise ScenarioError(path, f"locations[{i}].area", "area lies outside the map")
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                if (x, y) in taken:
                    raise ScenarioError(
                        path,
                        f"locations[{i}].area",
                        f"{loc.name!r} overlaps {taken[(x, y)]!r} at tile ({x}, {y})",
                    )
                taken[(x, y)] = loc.name
        ax, ay = anchor_of(loc.area)
        if kinds[ay][ax] not in WALKABLE:
            raise ScenarioError(path, f"locations[{i}].area", f"centre tile ({ax}, {ay}) is a wall")
    _check_reachable(spec, kinds, path)


def _check_reachable(spec: ScenarioSpec, kinds: list[list[str]], path: Path) -> None:
    start = anchor_of(spec.locations[0].area)
    seen = {start}
    queue = deque([start])
    while queue:
        x, y = queue.popleft()
        for nx, ny in ((x, y - 1), (x + 1, y), (x, y + 1), (x - 1, y)):
            if 0 <= nx < spec.width and 0 <= ny < spec.height and (nx, ny) not in seen:
                if kinds[ny][nx] in WALKABLE:
                    seen.add((nx, ny))
                    queue.append((nx, ny))
    for i, loc in enumerate(spec.locations):
        if anchor_of(loc.area) not in seen:
            raise ScenarioError(
                path,
                f"locations[{i}]",
                f"no path reaches {loc.name!r} from {spec.locations[0].name!r}",
            )


def _check_events(events, places: set[str], agents: set[str], path: Path, prefix: str) -> None:
    for i, event in enumerate(events):
        where = f"{prefix}[{i}]"
        if event.place not in places:
            raise ScenarioError(path, f"{where}.place", f"unknown location {event.place!r}")
        for who in event.participants:
            if who not in agents:
                raise ScenarioError(path, f"{where}.participants", f"unknown agent {who!r}")
