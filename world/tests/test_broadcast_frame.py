"""The tick's frame: the events and speech it carries name their agents (id and name), whatever
their place in the tick's log."""

from __future__ import annotations

from village.tick import tick_advance
from world.broadcast import MAX_EVENTS, QUIET_KINDS, tick_frame


def test_every_carried_event_names_its_agent(world):
    ids = list(world.agents.order_by("order", "id").values_list("id", "name"))
    checked = 0
    for _ in range(6):
        out = tick_advance(world_id=world.id, dispatch_jobs=False)
        world.refresh_from_db()
        frame = tick_frame(world, out)
        carried = [e for e in out.events if e["kind"] not in QUIET_KINDS][:MAX_EVENTS]
        assert len(frame["events"]) == len(carried) and frame["events_total"] == len(out.events)
        for item, e in zip(frame["events"], carried, strict=True):
            assert item["kind"] == e["kind"]
            expected = ids[e["agent"]] if e["agent"] is not None else (None, None)
            assert (item["agent"], item["name"]) == expected, (e["seq"], e["kind"])
            checked += e["agent"] is not None and e["seq"] > e["agent"]
    assert checked, "some events come later in the log than their agent's index"
