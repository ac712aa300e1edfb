"""Prompt text for every job kind: short instructions ending in a one-line JSON example.

The budget model is a 135M-parameter chat model, so prompts stay small and literal. Every
prompt starts with a ``KIND: <kind>`` line, which the scripted backend uses to answer without
a model. Context values are untrusted-ish (they include other agents' words), so each one is
flattened to one line and capped.
"""

from __future__ import annotations

KIND_MARKER = "KIND: "
MAX_MEMORIES = 6
MAX_LINES = 6

# "..." rather than sample sentences: a 135M model copies a concrete example word for word.
EXAMPLES = {
    "plan": '{"items": [{"hour": 9, "activity": "{activity}", "place": "{place}"}, ...]}',
    "utterance": '{"text": "..."}',
    "summary": '{"summary": "..."}',
    "importance": '{"score": <1 to 10>}',
    "reflection": '{"insights": [{"text": "...", "evidence": [0]}]}',
    "board_post": '{"title": "...", "body": "...", "tags": ["..."]}',
    "board_reply": '{"body": "..."}',
    "interview": '{"answer": "..."}',
    "flavor": '{"text": "..."}',
}

# Backends that control decoding start the answer with these, so even a tiny model is already
# inside the JSON object and only has to fill it in.
RESPONSE_PREFIX = {
    "plan": '{"items": [{"hour": ',
    "utterance": '{"text": "',
    "summary": '{"summary": "',
    "importance": '{"score": ',
    "reflection": '{"insights": [{"text": "',
    "board_post": '{"title": "',
    "board_reply": '{"body": "',
    "interview": '{"answer": "',
    "flavor": '{"text": "',
}

TASKS = {
    "plan": "Plan your day, one item per hour you are busy. Use only the listed activities "
    "and places.",
    "utterance": "Say one short line to {partner} about {topic}.",
    "summary": "Summarize the lines above in one or two sentences.",
    "importance": "Rate how important this memory is, 1 (routine) to 10 (life-changing): {memory}",
    "reflection": "Write up to 3 insights from the numbered memories; cite their numbers as "
    "evidence.",
    "board_post": "Write a short post for the village board about {topic}.",
    "board_reply": "Write a short reply on the village board to {to}.",
    "interview": "Answer the question in character: {question}",
    "flavor": "Describe in one sentence what you are doing right now.",
}


def one_line(value, limit: int = 200) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(context: dict, key: str, default: str = "", limit: int = 200) -> str:
    value = context.get(key)
    return one_line(value, limit) if value not in (None, "", [], {}) else default


def _names(context: dict, key: str) -> str:
    values = context.get(key)
    if not isinstance(values, (list, tuple)):
        return ""
    return ", ".join(one_line(v, 40) for v in values[:30])


def _header(kind: str, context: dict) -> list[str]:
    name = _field(context, "name", "a villager", 60)
    lines = [f"{KIND_MARKER}{kind}", f"You are {name}. {_field(context, 'persona', '', 300)}"]
    hour, place = _field(context, "hour"), _field(context, "place", "", 60)
    if hour or place:
        lines.append(f"It is {hour or '?'}:00" + (f" and you are at {place}." if place else "."))
    if context.get("partner"):
        relation = _field(context, "relationship", "", 80)
        lines.append(
            f"You are with {_field(context, 'partner', '', 60)}"
            + (f" ({relation})." if relation else ".")
        )
    return lines


def _body(kind: str, context: dict) -> list[str]:
    lines = []
    memories = context.get("memories")
    if isinstance(memories, list) and memories:
        lines.append("Memories:")
        ids = context.get("memory_ids")
        numbered = kind == "reflection"
        for index, memory in enumerate(memories[:MAX_MEMORIES]):
            label = ids[index] if numbered and isinstance(ids, list) and index < len(ids) else index
            lines.append(
                f"[{label}] {one_line(memory, 150)}" if numbered else f"- {one_line(memory, 150)}"
            )
    recent = context.get("recent_lines")
    if isinstance(recent, list) and recent:
        lines.append("Recent lines:")
        lines.extend(f"- {one_line(line, 150)}" for line in recent[-MAX_LINES:])
    if kind == "board_reply":
        lines.extend(_board_thread(context))
    if kind == "plan":
        lines.append(f"Activities: {_names(context, 'activities') or 'any'}")
        lines.append(f"Places: {_names(context, 'places') or 'any'}")
    return lines


def _board_thread(context: dict) -> list[str]:
    """The post being answered and, when answering a reply to it, that reply."""
    post = _field(context, "post", _field(context, "topic", "a post", 120), 120)
    lines = [f'Board post by {_field(context, "post_author", "a neighbour", 60)}: "{post}"']
    if context.get("reply"):
        author = _field(context, "reply_author", "someone", 60)
        lines.append(f'Reply from {author}: "{_field(context, "reply", "", 300)}"')
    return lines


def _task(kind: str, context: dict) -> str:
    values = {
        "to": _field(context, "reply_author", "someone", 60)
        if context.get("reply")
        else _field(context, "post_author", "a neighbour", 60),
        "partner": _field(context, "partner", "them", 60),
        "topic": _field(context, "topic", "the day", 100),
        "memory": _field(context, "memory", _field(context, "text", "(none)", 300), 300),
        "question": _field(context, "question", "Tell me about yourself.", 300),
    }
    return TASKS[kind].format(**values)


def _example(kind: str, context: dict) -> str:
    if kind != "plan":
        return EXAMPLES[kind]
    # Real names in the plan example steer the model to the allowed lists.
    activities = context.get("activities") or ["work"]
    places = context.get("places") or ["home"]
    example = EXAMPLES[kind].replace("{activity}", one_line(activities[0], 40))
    return example.replace("{place}", one_line(places[0], 40))


def build_prompt(kind, context: dict) -> str:
    """The prompt for one job; ``kind`` is a JobKind or its string value."""
    kind = getattr(kind, "value", kind)
    context = context if isinstance(context, dict) else {}
    lines = _header(kind, context) + _body(kind, context)
    lines.append(_task(kind, context))
    lines.append(f"Reply with one JSON object only, like: {_example(kind, context)}")
    return "\n".join(lines)


def kind_of(prompt: str) -> str | None:
    """The kind named by a prompt's marker line, if any."""
    for line in prompt.splitlines()[:3]:
        if line.startswith(KIND_MARKER):
            return line[len(KIND_MARKER) :].strip()
    return None


def for_model(prompt: str) -> tuple[str, str]:
    """(prompt without its marker line, response prefix): the marker is for the scripted backend
    and only confuses a real model, which tends to echo it."""
    kind = kind_of(prompt)
    lines = [line for line in prompt.splitlines() if not line.startswith(KIND_MARKER)]
    return "\n".join(lines), RESPONSE_PREFIX.get(kind or "", "")
