"""Seeded town generation for large runs (`world_init --generate`): a street grid of blocks, each
block a building (walls with a door onto the street) or a park, with enough homes, workplaces and
venues for the number of agents asked for."""

from __future__ import annotations

import math
import random

BLOCK = 8  # a street every 8 tiles; a building's interior is 5x5
HOME_CAPACITY = 4
WORKERS_PER_PLACE = 25
AGENTS_PER_VENUE = 60
MAX_DENSITY = 16  # an apartment block of 64 is as dense as a town gets
DEFAULT_ACTIVITIES = [
    {
        "name": "sleep in",
        "category": "rest",
        "duration_minutes": 60,
        "locations": ["home"],
        "effects": {"energy": 0.3},
    },
    {
        "name": "cook breakfast",
        "category": "food",
        "duration_minutes": 30,
        "locations": ["home"],
        "effects": {"hunger": 0.6},
    },
    {
        "name": "read a book",
        "category": "leisure",
        "duration_minutes": 60,
        "locations": ["home", "library", "park"],
        "effects": {"fun": 0.3, "energy": 0.05},
    },
    {
        "name": "focused work",
        "category": "work",
        "duration_minutes": 120,
        "locations": [
            "office",
            "workshop",
            "school",
            "clinic",
            "market",
            "cafe",
            "library",
            "gym",
        ],
        "effects": {"energy": -0.05, "fun": -0.05},
    },
    {
        "name": "drink coffee",
        "category": "food",
        "duration_minutes": 30,
        "locations": ["cafe"],
        "effects": {"hunger": 0.3, "social": 0.1, "energy": 0.1},
    },
    {
        "name": "have lunch",
        "category": "food",
        "duration_minutes": 45,
        "locations": ["cafe", "restaurant", "market", "home"],
        "effects": {"hunger": 0.8},
    },
    {
        "name": "chat with neighbours",
        "category": "social",
        "duration_minutes": 45,
        "locations": ["park", "plaza", "cafe", "board", "market"],
        "effects": {"social": 0.3, "fun": 0.1},
    },
    {
        "name": "go cycling",
        "category": "wellness",
        "duration_minutes": 60,
        "locations": ["park"],
        "effects": {"fun": 0.3, "energy": -0.1},
    },
    {
        "name": "work out",
        "category": "wellness",
        "duration_minutes": 60,
        "locations": ["gym"],
        "effects": {"fun": 0.2, "energy": -0.1},
    },
    {
        "name": "buy groceries",
        "category": "errand",
        "duration_minutes": 30,
        "locations": ["market"],
        "effects": {"hunger": 0.2},
    },
    {
        "name": "read the board",
        "category": "social",
        "duration_minutes": 30,
        "locations": ["board"],
        "effects": {"social": 0.15, "fun": 0.1},
    },
]
VENUES = [
    ("cafe", 12, (7, 20)),
    ("market", 20, (8, 19)),
    ("park", 40, (0, 24)),
    ("gym", 15, (6, 22)),
    ("board", 25, (0, 24)),
    ("library", 15, (9, 18)),
]
WORKPLACES = [("office", 30), ("workshop", 12), ("school", 25), ("clinic", 12)]
INTERESTS = [
    "coffee",
    "cycling",
    "books",
    "gardening",
    "music",
    "cooking",
    "chess",
    "running",
    "painting",
    "history",
    "films",
    "baking",
]
TRAITS = ["curious", "kind", "shy", "chatty", "stubborn", "cheerful", "careful", "bold"]
FIRST = [
    "Ava",
    "Ben",
    "Cleo",
    "Dan",
    "Eve",
    "Finn",
    "Gia",
    "Hugo",
    "Iris",
    "Jon",
    "Kai",
    "Lena",
    "Milo",
    "Nora",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Vic",
    "Wren",
    "Xia",
    "Yuri",
    "Zoe",
]
LAST = [
    "Adler",
    "Brook",
    "Costa",
    "Dane",
    "Ellis",
    "Frost",
    "Grant",
    "Hale",
    "Ivers",
    "Joyce",
    "Kerr",
    "Lund",
    "Moss",
    "Nash",
    "Orr",
    "Price",
]


class GenerateError(ValueError):
    pass


def parse_size(size: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise GenerateError(f"--size must look like 200x200, got {size!r}") from None
    if width < 2 * BLOCK + 1 or height < 2 * BLOCK + 1:
        raise GenerateError(f"--size {size} is too small; at least {2 * BLOCK + 1}x{2 * BLOCK + 1}")
    return width, height


def blocks_in(width: int, height: int) -> list[tuple[int, int]]:
    return [(bx, by) for by in range((height - 1) // BLOCK) for bx in range((width - 1) // BLOCK)]


def layout(width: int, height: int, kinds: list[str]) -> tuple[list[str], list[tuple[int, int, int, int]]]:
    """Rows of the map and one interior area per building, in block order."""
    grid = [["#"] * width for _ in range(height)]
    for y in range(height):
        for x in range(width):
            if (
                (x % BLOCK == 0 or y % BLOCK == 0)
                and x < (width - 1) // BLOCK * BLOCK + 1
                and y < (height - 1) // BLOCK * BLOCK + 1
            ):
                grid[y][x] = "."
    areas = []
    for (bx, by), kind in zip(blocks_in(width, height), kinds, strict=False):
        x0, y0 = bx * BLOCK + 1, by * BLOCK + 1
        if kind == "park":
            for y in range(y0, y0 + BLOCK - 1):
                for x in range(x0, x0 + BLOCK - 1):
                    grid[y][x] = ","
            areas.append((x0 + 1, y0 + 1, x0 + BLOCK - 3, y0 + BLOCK - 3))
            continue
        for y in range(y0 + 1, y0 + BLOCK - 2):
            for x in range(x0 + 1, x0 + BLOCK - 2):
                grid[y][x] = "="
        door_x = x0 + (BLOCK - 1) // 2 - 1
        for y in range(y0 + BLOCK - 2, y0 + BLOCK - 1):
            grid[y][door_x] = "="
        areas.append((x0 + 1, y0 + 1, x0 + BLOCK - 3, y0 + BLOCK - 3))
    return ["".join(row) for row in grid], areas


def town_plan(agents: int, blocks: int) -> tuple[int, int, int, int]:
    """(density, homes, workplaces, venues): the fewest buildings of base size that house, employ
    and entertain `agents`; when they do not fit in `blocks`, buildings grow (apartment blocks,
    bigger offices and venues) by an integer density until they do."""
    for density in range(1, MAX_DENSITY + 1):
        homes = math.ceil(agents / (HOME_CAPACITY * density))
        workplaces = max(1, math.ceil(agents * 0.7 / (WORKERS_PER_PLACE * density)))
        venues = max(len(VENUES), math.ceil(agents / (AGENTS_PER_VENUE * density)))
        if homes + workplaces + venues <= blocks:
            break
    return density, homes, workplaces, venues


def generate_scenario(*, agents: int, width: int, height: int, seed: int, name: str = "generated") -> dict:
    rng = random.Random(seed)
    density, homes, workplaces, venues = town_plan(agents, len(blocks_in(width, height)))
    total = homes + workplaces + venues
    if total > len(blocks_in(width, height)):
        raise GenerateError(
            f"{agents} agents need {total} buildings but a {width}x{height} map holds "
            f"{len(blocks_in(width, height))}; use a larger --size"
        )
    kinds = ["venue"] * venues + ["work"] * workplaces + ["home"] * homes
    rng.shuffle(kinds)
    venue_specs = [VENUES[i % len(VENUES)] for i in range(venues)]
    work_specs = [WORKPLACES[i % len(WORKPLACES)] for i in range(workplaces)]
    concrete = []
    for kind in kinds:
        if kind == "venue":
            venue, capacity, hours = venue_specs.pop()
            concrete.append((venue, capacity * density, hours))
        elif kind == "work":
            work, capacity = work_specs.pop()
            concrete.append((work, capacity * density, (7, 19)))
        else:
            concrete.append(("home", HOME_CAPACITY * density, (0, 24)))
    rows, areas = layout(width, height, [c[0] for c in concrete])
    counters: dict[str, int] = {}
    locations = []
    for (kind, capacity, hours), area in zip(concrete, areas, strict=True):
        counters[kind] = counters.get(kind, 0) + 1
        locations.append(
            {
                "name": f"{kind.title()} {counters[kind]}",
                "kind": kind,
                "area": list(area),
                "capacity": capacity,
                "open_hours": list(hours),
            }
        )
    home_names = [loc["name"] for loc in locations if loc["kind"] == "home"]
    work_names = [loc["name"] for loc in locations if loc["kind"] in dict(WORKPLACES)]
    people = []
    for i in range(agents):
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        suffix = f" {i // (len(FIRST) * len(LAST)) + 1}" if i >= len(FIRST) * len(LAST) else ""
        picks = rng.sample(INTERESTS, 2)
        person = {
            "name": f"{first} {last}{suffix}",
            "bio": f"A resident of {name}.",
            "traits": rng.sample(TRAITS, 2),
            "interests": {
                picks[0]: round(rng.uniform(0.5, 1.0), 2),
                picks[1]: round(rng.uniform(0.1, 0.6), 2),
            },
            "home": home_names[i // (HOME_CAPACITY * density)],
            "job": "",
            "workplace": None,
        }
        if rng.random() < 0.7:
            person["workplace"] = work_names[rng.randrange(len(work_names))]
            person["job"] = "worker"
        people.append(person)
    return {
        "name": name,
        "description": f"Generated town, seed {seed}.",
        "map": {"rows": rows},
        "locations": locations,
        "activities": DEFAULT_ACTIVITIES,
        "agents": people,
    }
