"""Inputs drained at the start of a tick: console/API actions and recorded LLM results. Each is
validated against the state; a rejected one is reported with its reason and changes nothing."""

from __future__ import annotations

from .state import NO

MAX_TEXT = 600


class Rejected(ValueError):
    pass


def apply_inputs(tick, inputs) -> None:
    for item in inputs:
        handler = HANDLERS.get(item.get("kind"))
        try:
            if handler is None:
                raise Rejected(f"unknown input kind {item.get('kind')!r}")
            handler(tick, item.get("payload") or {})
        except Rejected as exc:
            tick.out.rejected.append((item.get("seq", -1), str(exc)))


def _agent(tick, payload) -> int:
    index = tick.state.agent_index()
    try:
        return index[int(payload.get("agent_id"))]
    except (KeyError, TypeError, ValueError):
        raise Rejected(f"unknown agent {payload.get('agent_id')!r}") from None


def _location(tick, name) -> int:
    try:
        return tick.state.location_index(name)
    except ValueError:
        raise Rejected(f"unknown location {name!r}") from None


def _activity(tick, name) -> int:
    try:
        return tick.state.activity_index(name)
    except ValueError:
        raise Rejected(f"unknown activity {name!r}") from None


def agent_move(tick, payload) -> None:
    i, loc = _agent(tick, payload), _location(tick, payload.get("location"))
    agents = tick.state.agents
    for hour in range(tick.hour, min(24, tick.hour + 2)):
        agents.plan_loc[i, hour] = loc
        agents.plan_act[i, hour] = NO
    agents.busy_until[i] = tick.t
    tick.out.plan_agents.add(i)
    tick.out.event("command.move", int(i), tick.lname(loc), by=str(payload.get("by", "")))


def agent_action(tick, payload) -> None:
    i, act = _agent(tick, payload), _activity(tick, payload.get("activity"))
    state, agents = tick.state, tick.state.agents
    loc = agents.inside[i]
    if loc == NO or state.locations.kinds[loc] not in state.activities.allowed[act]:
        raise Rejected(f"{state.activities.names[act]!r} is not possible where the agent is")
    agents.plan_act[i, tick.hour] = act
    agents.plan_loc[i, tick.hour] = loc
    agents.busy_until[i] = tick.t
    tick.out.plan_agents.add(i)
    tick.out.event("command.action", int(i), tick.lname(loc), tick.aname(act))


def llm_result(tick, payload) -> None:
    i = _agent(tick, payload)
    kind, output = payload.get("kind"), payload.get("output") or {}
    handler = RESULTS.get(kind)
    if handler is None:
        raise Rejected(f"unknown job kind {kind!r}")
    handler(tick, i, output, payload)


def _text(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Rejected("empty text")
    return value.strip()[:MAX_TEXT]


def result_plan(tick, i, output, payload) -> None:
    if payload.get("day") != tick.day:
        raise Rejected("plan is for another day")
    agents, state = tick.state.agents, tick.state
    adopted = 0
    for item in output.get("items", []):
        try:
            hour, act, loc = (
                int(item["hour"]),
                _activity(tick, item["activity"]),
                _location(tick, item["place"]),
            )
        except (KeyError, TypeError, ValueError, Rejected):
            continue
        if hour < tick.hour or not state.window.start_hour <= hour < state.window.end_hour:
            continue
        if state.locations.kinds[loc] not in state.activities.allowed[act]:
            continue
        agents.plan_act[i, hour], agents.plan_loc[i, hour] = act, loc
        adopted += 1
    if not adopted:
        raise Rejected("plan has no usable items")
    agents.plan_source[i] = "llm"
    tick.out.plan_agents.add(i)
    tick.out.event("plan.adopted", int(i), items=adopted)
    tick.remember(i, "plan", f"Planned my day: {adopted} steps.", 3)


def result_utterance(tick, i, output, payload) -> None:
    text = _text(output.get("text"))
    listeners = [int(a) for a in payload.get("listeners", []) if int(a) != tick.aid(i)]
    index = tick.state.agent_index()
    speaker = tick.state.agents.names[i]
    for agent_id in listeners:
        if agent_id in index:
            tick.remember(index[agent_id], "conversation", f'{speaker} said: "{text}"', 3, about=tick.aid(i))
    tick.out.event("chat.line", int(i), chat=str(payload.get("chat", "")), text=text)


def result_reflection(tick, i, output, payload) -> None:
    insights = output.get("insights") or []
    for insight in insights[:5]:
        text = _text(insight.get("text") if isinstance(insight, dict) else None)
        evidence = [e for e in insight.get("evidence", []) if isinstance(e, int)][:10]
        tick.remember(i, "reflection", text, 7, evidence=evidence)
    tick.out.event("reflect.insight", int(i), count=len(insights[:5]))


def result_board_post(tick, i, output, payload) -> None:
    title = _text(output.get("title"))[:120]
    tick.out.event(
        "board.post",
        int(i),
        title=title,
        body=_text(output.get("body"))[:1000],
        tags=[str(t)[:30] for t in (output.get("tags") or [])][:5],
    )


def result_flavor(tick, i, output, payload) -> None:
    tick.out.event("flavor", int(i), text=_text(output.get("text")))


def result_summary(tick, i, output, payload) -> None:
    tick.remember(i, "conversation", _text(output.get("summary")), 4)


def board_reply(tick, payload) -> None:
    """A human (or another agent) replied to the agent's board post: it remembers the reply."""
    i = _agent(tick, payload)
    author = str(payload.get("author") or "someone")[:80]
    text = _text(payload.get("text"))
    tick.remember(i, "conversation", f"{author} replied to my board post: {text}", 5)
    tick.out.event("board.reply_read", int(i), post=payload.get("post_id"), author=author)


def result_ignored(tick, i, output, payload) -> None:
    """Importance scores and interview answers change database rows, not the simulation."""


RESULTS = {
    "plan": result_plan,
    "utterance": result_utterance,
    "reflection": result_reflection,
    "board_post": result_board_post,
    "flavor": result_flavor,
    "summary": result_summary,
    "importance": result_ignored,
    "interview": result_ignored,
}
HANDLERS = {
    "agent.move": agent_move,
    "agent.action": agent_action,
    "llm.result": llm_result,
    "board.reply": board_reply,
}
