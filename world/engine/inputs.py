"""Inputs drained at the start of a tick: console/API actions and recorded LLM results. Each is
validated against the state; a rejected one is reported with its reason and changes nothing."""

from __future__ import annotations

import re

from .state import NO

MAX_TEXT = 600
# A post on the town board is a fact like any news: its author knows it from the moment the post
# is up (`board.posted`), chats spread it, and agents who know it may answer it (step.py).
BOARD_FACT = "board:"
BOARD_FACT_IMPORTANCE = 3


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


def result_board_reply(tick, i, output, payload) -> None:
    """The agent's answer on the board; the board app writes it if the post still takes replies.
    The post is named by its id when the agent answers a reply to it (the id came in with that
    reply), by its ref when the agent answers a post it knows about."""
    post_id, ref = _post_id(payload), str(payload.get("post_ref") or "")
    if post_id is not None:
        target = {"post_id": post_id}
    elif _REF.fullmatch(ref):
        target = {"post": ref}
    else:
        raise Rejected("board reply names no post")
    body = _text(output.get("body"))[:1000]
    tick.out.event("board.agent_reply", int(i), body=body, **target)
    tick.remember(i, "conversation", f"I replied on the board: {body}", 2)


def result_flavor(tick, i, output, payload) -> None:
    tick.out.event("flavor", int(i), text=_text(output.get("text")))


def result_summary(tick, i, output, payload) -> None:
    tick.remember(i, "conversation", _text(output.get("summary")), 4)


def _post_id(payload) -> int | None:
    try:
        post_id = int(payload.get("post_id"))
    except (TypeError, ValueError):
        return None
    return post_id if post_id > 0 else None


_REF = re.compile(r"\d+-\d+")
_POSTED = " posted on the board: "


def board_fact_key(day: int, ref: str) -> str:
    """A post's fact key: the day it went up and the engine's name for it (`<tick>-<seq>` of its
    `board.post` event), never a database id, so a day stays a function of seed and inputs."""
    return f"{BOARD_FACT}{day}:{ref}"


def board_post_of(state, key: str) -> tuple[str, str, str]:
    """(ref, author's name, title) of a board fact."""
    text = state.facts[key][0]
    author, _, title = text.partition(_POSTED)
    return key.rsplit(":", 1)[1], author, title


def board_posted(tick, payload) -> None:
    """The agent's post is up on the board: it becomes a fact the author knows and can pass on."""
    i, ref = _agent(tick, payload), str(payload.get("ref") or "")
    if not _REF.fullmatch(ref):
        raise Rejected(f"bad post ref {ref!r}")
    title = " ".join(_text(payload.get("title")).split())[:120]
    state = tick.state
    if any(k.startswith(BOARD_FACT) and k.endswith(f":{ref}") for k in state.known[i]):
        raise Rejected(f"post {ref} is already on the board")
    key, text = board_fact_key(tick.day, ref), f"{tick.names[i]}{_POSTED}{title}"
    state.facts[key] = (text, BOARD_FACT_IMPORTANCE)
    state.known[i] = state.known[i] | {key}
    tick.remember(i, "observation", f"My post is up on the board: {title}", BOARD_FACT_IMPORTANCE, key, text)
    tick.out.event("board.posted", int(i), post=ref)


def board_reply(tick, payload) -> None:
    """Someone replied to the agent's board post: it remembers the reply and answers it on the
    board (an LLM job; its result comes back as a `board_reply` result)."""
    i = _agent(tick, payload)
    author = str(payload.get("author") or "someone")[:80]
    text = _text(payload.get("text"))
    title = " ".join(str(payload.get("title") or "").split())[:120]
    about = payload.get("author_agent_id")
    about = about if isinstance(about, int) and about in tick.state.agent_index() else None
    on = f' "{title}"' if title else ""
    tick.remember(i, "conversation", f"{author} replied to my board post{on}: {text}", 5, about=about)
    tick.out.event("board.reply_read", int(i), post=payload.get("post_id"), author=author)
    post_id = _post_id(payload)
    if post_id is not None:
        tick.job(
            "board_reply",
            i,
            post_id=post_id,
            post=title or "my post",
            post_author=tick.names[i],
            reply=text[:300],
            reply_author=author,
            topic=title or text[:80],
        )


def result_ignored(tick, i, output, payload) -> None:
    """Importance scores and interview answers change database rows, not the simulation."""


RESULTS = {
    "plan": result_plan,
    "utterance": result_utterance,
    "reflection": result_reflection,
    "board_post": result_board_post,
    "board_reply": result_board_reply,
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
    "board.posted": board_posted,
}
