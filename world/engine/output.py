"""What one tick produces: the event log, memories, LLM jobs, conversations and the agents whose
state changed. The engine writes events and memories as compact rows (tuples) and spells their
canonical lines and JSON once, when emitted; the dicts that other code reads (`events`,
`memories`) are built from the rows only when asked for, so a tick that nobody reads in full
never pays for them."""

from __future__ import annotations

import hashlib

from .state import canonical

# A row of the event log: (kind, agent, location, activity, data, data_js). An engine row names
# the place and activity by index and carries its data already spelled as canonical JSON
# (data None means {}); a row from `event` names them by name and has data_js None.
# A memory row: (agent_id, kind, text, importance, fact_key, fact_text, about_agent_id, evidence).


class TickOutput:
    def __init__(self, tick: int, tables=None):
        self.tick = tick
        self.jobs: list[dict] = []
        self.conversations: list[dict] = []
        self.relationship_pairs: set = set()
        self.plan_agents: set = set()
        self.rejected: list[tuple[int, str]] = []
        self.moved: list[int] = []  # agents whose location changed
        self.rows: list[tuple] = []
        self.memory_rows: list[tuple] = []
        # Names and JSON spellings by place / activity index (tables.py), NO reading the last.
        self._tables = tables
        self._events: list[dict] = []
        self._memories: list[dict] = []
        self._lines: list[str] | None = None
        self._kinds: list[str] = []
        self._digest: tuple[int, str] | None = None  # (events hashed, digest)

    @classmethod
    def of_events(cls, tick: int, events: list[dict]) -> TickOutput:
        """An output holding these event dicts (kind, agent, location, activity, data), as a
        tick would have emitted them."""
        out = cls(tick)
        for e in events:
            out.event(e["kind"], e.get("agent"), e.get("location"), e.get("activity"), **e.get("data", {}))
        return out

    def __repr__(self) -> str:
        return f"TickOutput(tick={self.tick}, events={len(self.rows)}, memories={len(self.memory_rows)})"

    def event(self, kind, agent=None, location=None, activity=None, **data):
        self.rows.append((kind, agent, location, activity, data, None))

    def remember(
        self, agent_id, kind, text, importance, fact_key=None, fact_text=None, about=None, evidence=()
    ):
        self.memory_rows.append((agent_id, kind, text, int(importance), fact_key, fact_text, about, evidence))

    @property
    def events(self) -> list[dict]:
        """One dict per event (seq, kind, agent, location, activity, data), in order."""
        done, rows = len(self._events), self.rows
        if done < len(rows):
            self._events += self._dicts(enumerate(rows[done:], done))
        return self._events

    def events_of(self, *kinds: str) -> list[dict]:
        """The dicts of the events of these kinds only, in order (the others are not built)."""
        if len(self._events) == len(self.rows):
            return [e for e in self._events if e["kind"] in kinds]
        rows = self.rows
        return self._dicts([(n, rows[n]) for n, kind in enumerate(self.event_kinds()) if kind in kinds])

    def event_at(self, n: int) -> dict:
        if n < len(self._events):
            return self._events[n]
        return self._dicts([(n, self.rows[n])])[0]

    def _dicts(self, numbered) -> list[dict]:
        tables = self._tables
        locs, acts = (tables.loc_name, tables.act_name) if tables else ((), ())
        return [
            {"seq": n, "kind": k, "agent": a, "location": locs[p], "activity": acts[c], "data": d or {}}
            if j is not None
            else {"seq": n, "kind": k, "agent": a, "location": p, "activity": c, "data": d}
            for n, (k, a, p, c, d, j) in numbered
        ]

    @property
    def memories(self) -> list[dict]:
        done, rows = len(self._memories), self.memory_rows
        if done < len(rows):
            t = self.tick
            self._memories += [
                {
                    "agent_id": a,
                    "kind": k,
                    "text": text,
                    "importance": imp,
                    "tick": t,
                    "fact_key": fk,
                    "fact_text": ft,
                    "about_agent_id": about,
                    "evidence": list(ev) if ev else [],
                }
                for a, k, text, imp, fk, ft, about, ev in rows[done:]
            ]
        return self._memories

    def event_agents(self) -> list:
        """Each event's agent index (or None), in order, without building the event dicts."""
        return [row[1] for row in self.rows]

    def event_kinds(self) -> list[str]:
        """Each event's kind, in order (kept: the tick reads them several times)."""
        if len(self._kinds) != len(self.rows):
            self._kinds = [row[0] for row in self.rows]
        return self._kinds

    def payload(self, n: int) -> str:
        """Event n's data as JSON (canonical, so it can be stored as is)."""
        _, _, _, _, data, data_js = self.rows[n]
        return canonical(data) if data_js is None else data_js

    @property
    def digest(self) -> str:
        """The SHA-256 of the canonical event lines, joined by newlines: what replay compares.
        Spelled when first read (the tick reads it on its packing thread, while the rows go to
        the database), again if events were added since."""
        if self._digest is None or self._digest[0] != len(self.rows):
            self._digest = (len(self.rows), hashlib.sha256("\n".join(self.lines()).encode()).hexdigest())
        return self._digest[1]

    def lines(self) -> list[str]:
        """The canonical line of each event (what the digest hashes and the log stores); spelled
        once, unless events were added since."""
        if self._lines is not None and len(self._lines) == len(self.rows):
            return self._lines
        t, tables = self.tick, self._tables
        locs, acts = (tables.loc_js, tables.act_js) if tables else ((), ())
        self._lines = [
            f'[{t},{n},"{k}",{a},{locs[p]},{acts[c]},{j}]'
            if j is not None
            else canonical([t, n, k, a, p, c, d])
            for n, (k, a, p, c, d, j) in enumerate(self.rows)
        ]
        return self._lines
