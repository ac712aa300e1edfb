"""The tile map and walking. Agents walk along shortest paths, taking at each tile the first
neighbour, in the fixed order N, E, S, W, that lies on a shortest path to their destination.

The fast path keeps one *direction field* per destination: a uint8 per tile saying which way to
step (0-3 for N, E, S, W; 4 to stay: arrived or unreachable), derived from one breadth-first
distance field (scipy csgraph's breadth-first search, in C). Every agent heading to that destination shares it, so
walking costs one array lookup per agent per step. A world loaded for ticking computes the
fields of all its places up front (`prepare`, about 1 s for a 200x200 town with 500 places), so
ticks do not pay for a destination's first walker. Fields live in one (slots, h*w) array with a
least-recently-used cap (`field_budget` bytes, 1 byte per tile per field): a 200x200 town with
500 destinations needs 20 MB. The reference path (`astar_step`) runs A* per agent per step and
takes the same step, which the equivalence test checks."""

from __future__ import annotations

import heapq
from collections import OrderedDict

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

# N, E, S, W as (dx, dy).
NEIGHBOURS = ((0, -1), (1, 0), (0, 1), (-1, 0))
STAY = 4
# The first of the directions N, E, S, W (bits 0-3) set in a 4-bit mask; STAY when none is.
FIRST_BIT = np.array([STAY] + [(m & -m).bit_length() - 1 for m in range(1, 16)], np.uint8)
UNREACHABLE = np.int32(2**30)
FIELD_BUDGET = 512 * 2**20
FIELD_BATCH = 32  # distance fields computed per C call (float64 scratch: 32 * h * w * 8 bytes)


class Grid:
    def __init__(self, walkable: np.ndarray, field_budget: int = FIELD_BUDGET):
        self.walkable = np.ascontiguousarray(walkable, dtype=bool)
        self.height, self.width = self.walkable.shape
        self.cells = self.height * self.width
        self.max_fields = max(64, field_budget // max(1, self.cells))
        self._graph = None
        self._slots: OrderedDict[int, int] = OrderedDict()  # target cell -> row of _dirs, LRU order
        self._dirs = np.empty((0, self.cells), np.uint8)
        self._cell_step = np.array([-self.width, 1, self.width, -1, 0], np.int64)
        self.fields_computed = 0

    # --- fast path: shared direction fields ------------------------------------------------

    def walk(self, pos: np.ndarray, goals: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """New positions after each agent walks up to `steps[i]` tiles from `pos[i]` towards
        `goals[i]` (both (n, 2) x, y arrays)."""
        if not len(pos):
            return pos.copy()
        goal_cells = goals[:, 1].astype(np.int64) * self.width + goals[:, 0]
        unique, inverse = np.unique(goal_cells, return_inverse=True)
        slots = self._slots_for(unique.tolist())
        base = slots[inverse] * self.cells
        cell = pos[:, 1].astype(np.int64) * self.width + pos[:, 0]
        flat = self._dirs.reshape(-1)
        for step in range(int(steps.max(initial=0))):
            code = flat[base + cell]
            code[steps <= step] = STAY
            if (code == STAY).all():
                break
            cell += self._cell_step[code]
        out = np.empty_like(pos)
        out[:, 0], out[:, 1] = cell % self.width, cell // self.width
        return out

    def prepare(self, targets: list[int]) -> int:
        """Compute the fields towards these target cells now (a world's destinations, when its
        state is loaded for ticking), as many as the budget holds, so ticks only look them up.
        Returns how many fields are held."""
        wanted = list(dict.fromkeys(int(t) for t in targets))[: self.max_fields]
        if wanted:
            self._slots_for(wanted)
        return len(self._slots)

    def _slots_for(self, targets: list[int]) -> np.ndarray:
        missing = [t for t in targets if t not in self._slots]
        for t in targets:
            if t in self._slots:
                self._slots.move_to_end(t)
        if missing:
            free = self._free_slots(len(missing), keep=set(targets))
            for start in range(0, len(missing), FIELD_BATCH):
                batch = missing[start : start + FIELD_BATCH]
                fields = self.direction_fields(batch)
                for t, row, slot in zip(batch, fields, free[start : start + FIELD_BATCH], strict=True):
                    self._dirs[slot] = row
                    self._slots[t] = slot
        return np.array([self._slots[t] for t in targets], np.int64)

    def _free_slots(self, n: int, keep: set[int]) -> list[int]:
        used, have = len(self._slots), len(self._dirs)
        if used + n > have and have < max(self.max_fields, len(keep)):
            # Grow towards the cap (or past it when one tick alone needs more destinations).
            want = max(min(self.max_fields, max(used + n, 2 * have, 16)), len(keep))
            grown = np.empty((want, self.cells), np.uint8)
            grown[:have] = self._dirs
            self._dirs = grown
        free = sorted(set(range(len(self._dirs))) - set(self._slots.values()))[:n]
        while len(free) < n:  # evict the least recently used destination not needed now
            victim = next(t for t in self._slots if t not in keep)
            free.append(self._slots.pop(victim))
        return free

    def direction_fields(self, targets: list[int]) -> np.ndarray:
        """(len(targets), h*w) uint8: the way to step from each tile towards each target cell:
        the first neighbour in N, E, S, W order one step closer, STAY where none is (the target
        itself, and tiles that cannot reach it)."""
        if self._graph is None:
            self._build_graph()
        self.fields_computed += len(targets)
        h, w = self.height, self.width
        code = np.empty((len(targets), h, w), np.uint8)
        steps = np.empty(self.cells, np.int32)
        # Steps to the target on the map with a border of unreachable tiles.
        padded = np.full((h + 2, w + 2), UNREACHABLE, np.int32)
        closer = np.empty((h, w), np.int32)
        bits = np.empty((h, w), np.uint8)
        for row, target in zip(code, targets, strict=True):
            order, depth = self._bfs(target)
            steps.fill(UNREACHABLE)
            steps[order] = depth
            padded[1:-1, 1:-1] = steps.reshape(h, w)
            # One step closer; the target (-1) and unreachable tiles (2**30 - 1) match no tile.
            np.subtract(padded[1:-1, 1:-1], 1, out=closer)
            bits.fill(0)
            for n, (dx, dy) in enumerate(NEIGHBOURS):
                bits |= (padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] == closer).view(np.uint8) << n
            np.take(FIRST_BIT, bits, out=row)
        return code.reshape(len(targets), -1)

    def _bfs(self, target: int) -> tuple[np.ndarray, np.ndarray]:
        """Tiles reachable from `target` in breadth-first order, and their distances (steps).
        Breadth-first order lists the tiles level by level, each level being the children of the
        level before, so the level after next starts right after the children of every tile up
        to the end of the next level (one lookup per level)."""
        order, parent = breadth_first_order(self._graph, target, directed=True, return_predecessors=True)
        # The tiles whose parent is at or before each position of the order.
        children = np.cumsum(np.bincount(parent[order[1:]], minlength=self.cells)[order])
        ends, starts = memoryview(children), [0, 1]
        while starts[-1] < len(order):
            starts.append(1 + ends[starts[-1] - 1])
        sizes = np.diff(starts)
        return order, np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)

    def _build_graph(self):
        h, w = self.height, self.width
        ids = np.arange(h * w).reshape(h, w)
        rows, cols = [], []
        for dx, dy in ((1, 0), (0, 1)):
            a = self.walkable[: h - dy, : w - dx] & self.walkable[dy:, dx:]
            src = ids[: h - dy, : w - dx][a]
            dst = ids[dy:, dx:][a]
            rows += [src, dst]
            cols += [dst, src]
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        self._graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(h * w, h * w))

    def field_bytes(self) -> int:
        return self._dirs.nbytes

    # --- reference path: A* per agent per step (documentation and test oracle) -------------

    def astar_distance(self, start: tuple[int, int], goal: tuple[int, int]) -> int:
        if start == goal:
            return 0
        sx, sy = start
        gx, gy = goal
        if not (self.walkable[sy, sx] and self.walkable[gy, gx]):
            return int(UNREACHABLE)
        best = {start: 0}
        frontier = [(abs(sx - gx) + abs(sy - gy), 0, start)]
        while frontier:
            _, cost, (x, y) = heapq.heappop(frontier)
            if (x, y) == goal:
                return cost
            if cost > best.get((x, y), cost):
                continue
            for dx, dy in NEIGHBOURS:
                nx, ny = x + dx, y + dy
                if 0 <= nx < self.width and 0 <= ny < self.height and self.walkable[ny, nx]:
                    if cost + 1 < best.get((nx, ny), 1 << 30):
                        best[(nx, ny)] = cost + 1
                        heapq.heappush(frontier, (cost + 1 + abs(nx - gx) + abs(ny - gy), cost + 1, (nx, ny)))
        return int(UNREACHABLE)

    def astar_step(self, start: tuple[int, int], goal: tuple[int, int]) -> tuple[int, int]:
        here = self.astar_distance(start, goal)
        if here == 0 or here >= UNREACHABLE:
            return start
        for dx, dy in NEIGHBOURS:
            nx, ny = start[0] + dx, start[1] + dy
            if 0 <= nx < self.width and 0 <= ny < self.height and self.walkable[ny, nx]:
                if self.astar_distance((nx, ny), goal) == here - 1:
                    return (nx, ny)
        return start
