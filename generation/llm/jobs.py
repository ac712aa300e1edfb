"""LLM jobs: kinds, output schemas, parsing of model text, rule-based fallbacks and sanitizing.

Whatever a backend returns goes through ``finalize``, which never raises and always yields an
output that validates against the kind's schema: parsed as is ("ok"), parsed after repair
("repaired") or replaced by a deterministic rule-based output ("fallback").
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from generation.llm import prompts
from generation.llm.repair import MAX_INPUT_CHARS, repair_json

RAW_LIMIT = 2000


class JobKind(StrEnum):
    PLAN = "plan"
    UTTERANCE = "utterance"
    SUMMARY = "summary"
    IMPORTANCE = "importance"
    REFLECTION = "reflection"
    BOARD_POST = "board_post"
    BOARD_REPLY = "board_reply"
    INTERVIEW = "interview"
    FLAVOR = "flavor"


def _text(limit: int):
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=limit)]


# Max lengths by field name; sanitizing truncates to these before re-validating.
LIMITS = {
    "text": 280,
    "summary": 500,
    "answer": 600,
    "title": 120,
    "body": 1000,
    "tag": 32,
    "activity": 80,
    "place": 80,
}


class _Schema(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PlanItem(_Schema):
    hour: int = Field(ge=0, le=23)
    activity: _text(LIMITS["activity"])
    place: _text(LIMITS["place"])


class PlanOutput(_Schema):
    items: list[PlanItem] = Field(min_length=1, max_length=24)


class UtteranceOutput(_Schema):
    text: _text(LIMITS["text"])


class SummaryOutput(_Schema):
    summary: _text(LIMITS["summary"])


class ImportanceOutput(_Schema):
    score: int = Field(ge=1, le=10)


class Insight(_Schema):
    text: _text(LIMITS["text"])
    evidence: list[int] = Field(default_factory=list, max_length=20)


class ReflectionOutput(_Schema):
    insights: list[Insight] = Field(min_length=1, max_length=5)


class BoardPostOutput(_Schema):
    title: _text(LIMITS["title"])
    body: _text(LIMITS["body"])
    tags: list[_text(LIMITS["tag"])] = Field(default_factory=list, max_length=5)


class BoardReplyOutput(_Schema):
    body: _text(LIMITS["body"])


class InterviewOutput(_Schema):
    answer: _text(LIMITS["answer"])


class FlavorOutput(_Schema):
    text: _text(LIMITS["text"])


SCHEMAS: dict[JobKind, type[BaseModel]] = {
    JobKind.PLAN: PlanOutput,
    JobKind.UTTERANCE: UtteranceOutput,
    JobKind.SUMMARY: SummaryOutput,
    JobKind.IMPORTANCE: ImportanceOutput,
    JobKind.REFLECTION: ReflectionOutput,
    JobKind.BOARD_POST: BoardPostOutput,
    JobKind.BOARD_REPLY: BoardReplyOutput,
    JobKind.INTERVIEW: InterviewOutput,
    JobKind.FLAVOR: FlavorOutput,
}
# Kinds whose whole output is one text field: plain prose from the model is usable as is.
TEXT_FIELD = {
    JobKind.UTTERANCE: "text",
    JobKind.SUMMARY: "summary",
    JobKind.BOARD_REPLY: "body",
    JobKind.INTERVIEW: "answer",
    JobKind.FLAVOR: "text",
}


@dataclass
class Job:
    kind: JobKind
    agent_id: int
    context: dict
    job_id: str

    def prompt(self) -> str:
        return prompts.build_prompt(self.kind, self.context)


@dataclass
class JobResult:
    job_id: str
    kind: JobKind
    agent_id: int
    output: dict
    outcome: str  # "ok" | "repaired" | "fallback"
    tokens_in: int
    tokens_out: int
    latency_ms: float
    raw: str


# --- parsing ------------------------------------------------------------------------------


def parse_output(kind, text, context) -> tuple[BaseModel | None, str]:
    """(validated output, "ok"|"repaired") or (None, "invalid"); never raises."""
    try:
        return _parse(JobKind(kind), text, context if isinstance(context, dict) else {})
    except Exception:  # noqa: BLE001 - model text is untrusted; any failure means "invalid"
        return None, "invalid"


def _parse(kind: JobKind, text, context: dict) -> tuple[BaseModel | None, str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return None, "invalid"
    text = text[:MAX_INPUT_CHARS]
    data, repaired = repair_json(text)
    if data is None:
        data, repaired = _from_prose(kind, text), True
    if data is None:
        return None, "invalid"
    parsed = None if repaired else _validate(kind, data)
    if parsed is None:
        parsed, repaired = _validate(kind, _coerce(kind, data)), True
    if parsed is None:
        # JSON-ish fragments inside an otherwise plain answer ("Sure! [smiles]").
        parsed = _validate(kind, _from_prose(kind, text))
    if parsed is None:
        return None, "invalid"
    return _check_against_context(kind, parsed, context, repaired)


def _validate(kind: JobKind, data) -> BaseModel | None:
    try:
        return SCHEMAS[kind].model_validate(data)
    except (ValidationError, TypeError, ValueError):
        return None


_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!]")
_SCORE = re.compile(r"(?<!\d)(10|[1-9])(?!\d)")
_BARE_SCORE = re.compile(r"\s*(10|[1-9])\s*(/\s*10)?\s*\.?\s*")


# Lines of our own prompt that a small model echoes back before (or instead of) answering.
_SCAFFOLD = re.compile(
    r"^(KIND:|You are |It is |Memories:|Recent lines:|Activities:|Places:|- |\[\d+\] |Reply with|"
    r"Board post by |Reply from |Write a short reply)"
)


def _from_prose(kind: JobKind, text: str):
    """Non-JSON answers are still usable for one-text-field kinds and for scores."""
    lines = text.strip().strip("`").strip().splitlines()
    while lines and (not lines[0].strip() or _SCAFFOLD.match(lines[0].strip())):
        lines.pop(0)
    text = "\n".join(lines).strip()
    if kind == JobKind.IMPORTANCE:
        # "7", "7/10" or a sentence with a number in it; digits inside debris mean nothing.
        match = (
            _SCORE.search(text)
            if _BARE_SCORE.fullmatch(text) or looks_like_prose(text, 300)
            else None
        )
        return {"score": int(match.group(1))} if match else None
    field = TEXT_FIELD.get(kind)
    return {field: text} if field and looks_like_prose(text, 4 * LIMITS[field]) else None


_PROSE_PUNCTUATION = set(" \n.,!?'\"-:;()…’“”¡¿、。，！？")


def looks_like_prose(text: str, max_chars: int) -> bool:
    """Words and ordinary punctuation, not markup, JSON debris or a blob of symbols."""
    if not text or len(text) > max_chars or (len(text.split()) < 2 and len(text) < 8):
        return False
    if _MARKUP.search(text) or any(c in "{}[]\\`<>" for c in text):
        return False
    ordinary = sum(c.isalpha() or c.isdigit() or c in _PROSE_PUNCTUATION for c in text)
    return ordinary >= 0.9 * len(text) and sum(c.isalpha() for c in text) >= 0.5 * len(text)


# --- coercion of near-miss shapes ---------------------------------------------------------

_ALIASES = {
    "text": ("text", "utterance", "line", "say", "message", "content", "reply", "response"),
    "summary": ("summary", "text", "content"),
    "answer": ("answer", "text", "response", "reply", "content"),
    "score": ("score", "importance", "rating", "value"),
    "items": ("items", "plan", "schedule", "activities"),
    "insights": ("insights", "reflections", "insight"),
    "title": ("title", "subject", "headline"),
    "body": ("body", "content", "text", "message", "reply"),
    "tags": ("tags", "labels", "keywords"),
    "hour": ("hour", "time", "start", "at"),
    "activity": ("activity", "action", "task", "what"),
    "place": ("place", "location", "where", "at_place"),
}


def _pick(data: dict, field: str):
    for key in _ALIASES.get(field, (field,)):
        if key in data:
            return data[key]
    return None


def _unwrap(data):
    # {"output": {...}} or [{...}] around the object the schema wants.
    for _ in range(3):
        if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
            data = data[0]
        elif isinstance(data, dict) and len(data) == 1:
            (inner,) = data.values()
            if not isinstance(inner, dict):
                break
            data = inner
        else:
            break
    return data


def _coerce(kind: JobKind, data):
    if kind == JobKind.PLAN:
        return _coerce_plan(data)
    data = _unwrap(data)
    coercer = {
        JobKind.IMPORTANCE: _coerce_importance,
        JobKind.REFLECTION: _coerce_reflection,
        JobKind.BOARD_POST: _coerce_board_post,
    }.get(kind)
    if coercer:
        return coercer(data)
    field = TEXT_FIELD[kind]
    value = _pick(data, field) if isinstance(data, dict) else data
    return {field: _short(value, LIMITS[field])}


def _short(value, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    return truncate(value.strip(), limit)


def truncate(text: str, limit: int) -> str:
    """Cut at a word boundary when one is near, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.7:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _coerce_importance(data):
    value = _pick(data, "score") if isinstance(data, dict) else data
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return {"score": min(10, max(1, round(value)))}
    if isinstance(value, str):
        match = _SCORE.search(value[:200])
        return {"score": int(match.group(1))} if match else None
    return None


_HOUR = re.compile(r"(\d{1,2})(?::\d{2})?\s*([ap]\.?m\.?)?", re.IGNORECASE)


def _hour(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if 0 <= value <= 23 else None
    match = _HOUR.search(value[:40]) if isinstance(value, str) else None
    if not match:
        return None
    hour = int(match.group(1))
    suffix = (match.group(2) or "").lower()
    if suffix.startswith("p") and hour < 12:
        hour += 12
    elif suffix.startswith("a") and hour == 12:
        hour = 0
    return hour if 0 <= hour <= 23 else None


def _plan_item(item) -> dict | None:
    if isinstance(item, (list, tuple)) and len(item) == 3:
        item = dict(zip(("hour", "activity", "place"), item))
    if not isinstance(item, dict):
        return None
    hour = _hour(_pick(item, "hour"))
    activity = _short(_pick(item, "activity"), LIMITS["activity"])
    place = _short(_pick(item, "place"), LIMITS["place"])
    if hour is None or not activity or not place:
        return None
    return {"hour": hour, "activity": activity, "place": place}


def _coerce_plan(data):
    for _ in range(3):  # {"plan": {"items": [...]}} and similar wrappers
        if isinstance(data, dict):
            data = _pick(data, "items") or next(
                (v for v in data.values() if isinstance(v, (list, dict))), None
            )
    if not isinstance(data, list):
        return None
    by_hour: dict[int, dict] = {}
    for item in data[:100]:
        parsed = _plan_item(item)
        if parsed and parsed["hour"] not in by_hour:
            by_hour[parsed["hour"]] = parsed
    return {"items": [by_hour[h] for h in sorted(by_hour)]}


def _evidence(value) -> list[int]:
    if not isinstance(value, list):
        value = [value]
    found = []
    for entry in value[:20]:
        if isinstance(entry, int) and not isinstance(entry, bool):
            found.append(entry)
        elif isinstance(entry, str) and entry.strip().lstrip("#").isdigit():
            found.append(int(entry.strip().lstrip("#")))
    return found


def _insight(entry) -> dict | None:
    if isinstance(entry, str):
        entry = {"text": entry}
    if not isinstance(entry, dict):
        return None
    text = _short(_pick(entry, "text") or entry.get("insight"), LIMITS["text"])
    return {"text": text, "evidence": _evidence(entry.get("evidence", []))} if text else None


def _coerce_reflection(data):
    entries = _pick(data, "insights") if isinstance(data, dict) else data
    if isinstance(entries, (str, dict)):
        entries = [entries]
    if not isinstance(entries, list):
        return None
    insights = [i for i in (_insight(e) for e in entries[:20]) if i]
    return {"insights": insights[:5]}


def _tags(value) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return []
    tags = []
    for tag in value:
        tag = _short(tag, LIMITS["tag"])
        tag = tag.lstrip("#").strip() if tag else ""
        if tag and tag not in tags:
            tags.append(tag)
    return tags[:5]


def _coerce_board_post(data):
    if not isinstance(data, dict):
        return None
    return {
        "title": _short(_pick(data, "title"), LIMITS["title"]),
        "body": _short(_pick(data, "body"), LIMITS["body"]),
        "tags": _tags(_pick(data, "tags")),
    }


# --- checks against the job's context -----------------------------------------------------


def _allowed(context: dict, key: str) -> dict[str, str] | None:
    """Lower-cased allowed name -> canonical name; None when the context sets no limit."""
    names = context.get(key)
    if not isinstance(names, (list, tuple, set)) or not names:
        return None
    return {str(n).strip().lower(): str(n) for n in names}


def _check_against_context(kind, parsed, context, repaired) -> tuple[BaseModel | None, str]:
    if kind == JobKind.PLAN:
        return _check_plan(parsed, context, repaired)
    if kind == JobKind.REFLECTION:
        return _check_evidence(parsed, context, repaired)
    if kind == JobKind.INTERVIEW and not _grounded(parsed.answer, _memories(context)[:1]):
        return None, "ungrounded"
    return parsed, "repaired" if repaired else "ok"


_STOPWORDS = frozenset(
    "that this with from have will what when where which there their they them then than about "
    "would could should been were your just like into over some more very also only here".split()
)


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _STOPWORDS}


def _grounded(answer: str, memories: list[str]) -> bool:
    """An answer is grounded when it shares a content word with the top retrieved memory
    (vacuously true when the agent remembers nothing)."""
    if not memories:
        return True
    return bool(_content_words(answer) & _content_words(memories[0]))


def _check_plan(plan: PlanOutput, context: dict, repaired: bool):
    activities, places = _allowed(context, "activities"), _allowed(context, "places")
    kept = []
    for item in plan.items:
        activity = _canonical(item.activity, activities)
        place = _canonical(item.place, places)
        if activity and place:
            kept.append(PlanItem(hour=item.hour, activity=activity, place=place))
    if not kept:
        return None, "invalid"
    changed = repaired or len(kept) < len(plan.items)
    return PlanOutput(items=kept), "repaired" if changed else "ok"


def _canonical(name: str, allowed: dict[str, str] | None) -> str | None:
    if allowed is None:
        return name
    return allowed.get(name.strip().lower())


def _check_evidence(reflection: ReflectionOutput, context: dict, repaired: bool):
    valid = _evidence_ids(context)
    if valid is None:
        return reflection, "repaired" if repaired else "ok"
    changed = repaired
    for insight in reflection.insights:
        kept = [e for e in insight.evidence if e in valid]
        changed = changed or len(kept) < len(insight.evidence)
        insight.evidence = kept
    return reflection, "repaired" if changed else "ok"


def _evidence_ids(context: dict) -> set[int] | None:
    ids = context.get("memory_ids")
    if isinstance(ids, (list, tuple)):
        return {i for i in ids if isinstance(i, int)}
    memories = context.get("memories")
    return set(range(len(memories))) if isinstance(memories, list) else None


# --- fallbacks ----------------------------------------------------------------------------


def _ctx_text(context: dict, key: str, default: str = "", limit: int = 120) -> str:
    value = context.get(key)
    if isinstance(value, (str, int, float)) and str(value).strip():
        return truncate(" ".join(str(value).split()), limit)
    return default


def _memories(context: dict) -> list[str]:
    memories = context.get("memories")
    if not isinstance(memories, list):
        return []
    return [" ".join(str(m).split()) for m in memories if str(m).strip()][:20]


def _names(context: dict, key: str, default: list[str]) -> list[str]:
    values = context.get(key)
    if isinstance(values, (list, tuple)) and values:
        names = [str(v) for v in values if str(v).strip()]
        return names or default
    return default


def _choose(options: list[str], *seed_parts) -> str:
    # crc32, not hash(): Python salts str hashes per process and fallbacks must be replayable.
    key = "|".join(str(p) for p in seed_parts).encode("utf-8", errors="replace")
    return options[zlib.crc32(key) % len(options)]


def _fallback_plan(context: dict) -> dict:
    default = _coerce_plan(context.get("default_plan"))
    if default and default["items"]:
        checked, _ = _check_plan(PlanOutput.model_validate(default), context, False)
        if checked is not None:
            return checked.model_dump()
    activities = _names(context, "activities", ["rest", "work", "eat", "socialize"])
    places = _names(context, "places", [_ctx_text(context, "place", "home")])
    home = _ctx_text(context, "home", places[0])
    home = home if home in places else places[0]
    work = places[1 % len(places)]
    day = [(7, 0, home), (9, 1, work), (12, 2, work), (13, 1, work), (18, 3, home), (22, 0, home)]
    items = [
        {"hour": h, "activity": activities[a % len(activities)], "place": p} for h, a, p in day
    ]
    return {"items": items}


def _fallback_utterance(context: dict) -> dict:
    name = _ctx_text(context, "speaker", _ctx_text(context, "name", "I"))
    partner = _ctx_text(context, "partner", "friend", 40)
    topic = _ctx_text(context, "topic", "how the day is going", 80)
    memories = _memories(context)
    if memories:
        text = f"Hi {partner}, I keep thinking about this: {truncate(memories[0], 120)}"
    else:
        text = _choose(
            [
                f"Hi {partner}, what do you make of {topic}?",
                f"Good to see you, {partner}. Have you thought about {topic}?",
                f"{partner}, I wanted to talk about {topic}.",
            ],
            name,
            partner,
            topic,
        )
    return {"text": text}


def _fallback_summary(context: dict) -> dict:
    lines = _memories(context) or [str(x) for x in context.get("recent_lines") or []][:10]
    summary = "; ".join(lines) if lines else "Nothing notable happened."
    return {"summary": truncate(summary, LIMITS["summary"])}


_IMPORTANT = {
    "died": 10,
    "death": 10,
    "fire": 9,
    "married": 9,
    "wedding": 8,
    "born": 9,
    "fight": 7,
    "attack": 8,
    "stolen": 7,
    "fired": 7,
    "promoted": 7,
    "love": 7,
    "broke": 6,
    "argument": 6,
    "election": 6,
    "secret": 6,
    "sick": 6,
    "hurt": 6,
    "party": 5,
    "met": 4,
    "new": 4,
    "bought": 3,
    "sold": 3,
    "trade": 3,
}
_ROUTINE = {"sleep", "slept", "ate", "eat", "eating", "walk", "walked", "idle", "waited"}


def _fallback_importance(context: dict) -> dict:
    text = " ".join([_ctx_text(context, k, "", 2000) for k in ("memory", "text", "event")])
    words = set(re.findall(r"\w+", text.lower()))
    score = max((_IMPORTANT[w] for w in words & _IMPORTANT.keys()), default=3)
    if score == 3 and words & _ROUTINE:
        score = 2
    return {"score": score}


def _fallback_reflection(context: dict) -> dict:
    memories = _memories(context)
    ids = context.get("memory_ids")
    ids = ids if isinstance(ids, list) and len(ids) == len(context.get("memories") or []) else None
    if not memories:
        return {"insights": [{"text": "Nothing stands out to me yet.", "evidence": []}]}
    insights = []
    for index, memory in enumerate(memories[:3]):
        evidence = [ids[index]] if ids and isinstance(ids[index], int) else [index]
        insights.append(
            {"text": truncate(f"I keep coming back to this: {memory}", 280), "evidence": evidence}
        )
    return {"insights": insights}


def _fallback_board_post(context: dict) -> dict:
    name = _ctx_text(context, "name", "A villager", 60)
    topic = _ctx_text(context, "topic", "village news", 100)
    memories = _memories(context)
    body = " ".join(memories[:3]) if memories else f"{name} has some thoughts about {topic}."
    tags = [w for w in re.findall(r"\w+", topic.lower()) if len(w) > 2][:3] or ["village"]
    return {
        "title": truncate(topic.capitalize(), LIMITS["title"]),
        "body": truncate(body, LIMITS["body"]),
        "tags": tags,
    }


def _fallback_board_reply(context: dict) -> dict:
    """Answers the reply it was given (or the post, when replying to someone else's post), quoting
    a few of its words so the answer is about what was said."""
    post = _ctx_text(context, "post", _ctx_text(context, "topic", "the post", 100), 100)
    reply = _ctx_text(context, "reply", "", 160)
    if reply:
        to = _ctx_text(context, "reply_author", "friend", 40)
        body = f'Thank you, {to}. You wrote "{reply}" - I will keep that in mind about "{post}".'
    else:
        to = _ctx_text(context, "post_author", "neighbour", 40)
        memories = _memories(context)
        thought = f" It reminds me: {truncate(memories[0], 160)}" if memories else ""
        body = f'I read your post "{post}", {to}.{thought} Count me in if I can help.'
    return {"body": truncate(body, LIMITS["body"])}


def _fallback_interview(context: dict) -> dict:
    name = _ctx_text(context, "name", "a villager", 60)
    memories = _memories(context)
    if memories:
        answer = f"I'm {name}. What I remember is this: {memories[0]}"
    else:
        persona = _ctx_text(context, "persona", "", 200)
        answer = f"I'm {name}. {persona}".strip() + " I don't remember anything about that."
    return {"answer": truncate(answer, LIMITS["answer"])}


def _fallback_flavor(context: dict) -> dict:
    name = _ctx_text(context, "name", "Someone", 60)
    activity = _ctx_text(context, "activity", "passing the time", 60)
    place = _ctx_text(context, "place", "the village", 60)
    return {"text": f"{name} is {activity} at {place}."}


_FALLBACKS: dict[JobKind, Callable[[dict], dict]] = {
    JobKind.PLAN: _fallback_plan,
    JobKind.UTTERANCE: _fallback_utterance,
    JobKind.SUMMARY: _fallback_summary,
    JobKind.IMPORTANCE: _fallback_importance,
    JobKind.REFLECTION: _fallback_reflection,
    JobKind.BOARD_POST: _fallback_board_post,
    JobKind.BOARD_REPLY: _fallback_board_reply,
    JobKind.INTERVIEW: _fallback_interview,
    JobKind.FLAVOR: _fallback_flavor,
}
# Used only if a fallback cannot be built from a malformed context.
_LAST_RESORT = {
    JobKind.PLAN: {"items": [{"hour": 8, "activity": "rest", "place": "home"}]},
    JobKind.UTTERANCE: {"text": "Hello."},
    JobKind.SUMMARY: {"summary": "Nothing notable happened."},
    JobKind.IMPORTANCE: {"score": 3},
    JobKind.REFLECTION: {"insights": [{"text": "Nothing stands out to me yet.", "evidence": []}]},
    JobKind.BOARD_POST: {"title": "Village news", "body": "Nothing new today.", "tags": []},
    JobKind.BOARD_REPLY: {"body": "Thanks for writing; I read it."},
    JobKind.INTERVIEW: {"answer": "I'd rather not say."},
    JobKind.FLAVOR: {"text": "The village goes about its day."},
}


def fallback_output(kind, context) -> BaseModel:
    """A deterministic, rule-based output built from the job's context."""
    kind = JobKind(kind)
    context = context if isinstance(context, dict) else {}
    try:
        return SCHEMAS[kind].model_validate(_FALLBACKS[kind](context))
    except Exception:  # noqa: BLE001 - contexts come from callers; never fail a tick over one
        return SCHEMAS[kind].model_validate(_LAST_RESORT[kind])


# --- sanitizing ---------------------------------------------------------------------------

_banned: re.Pattern | None = None
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def set_banned_words(words: list[str]) -> None:
    """Words replaced by "***" in every text output (case-insensitive, whole words)."""
    global _banned
    words = sorted({w.strip() for w in words if w and w.strip()}, key=len, reverse=True)
    alternation = "|".join(re.escape(w) for w in words)
    _banned = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE) if words else None


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def drop_repeats(text: str) -> str:
    """Cut a text where it starts repeating a sentence: small models loop on greedy decoding."""
    seen, kept = set(), []
    for sentence in _SENTENCE_END.split(text):
        key = sentence.strip().lower()
        if key in seen:
            break
        seen.add(key)
        kept.append(sentence)
    return " ".join(kept)


def clean_text(text: str, limit: int) -> str:
    """Printable, unrepeated, filtered and capped; "" (invalid) when no word is left."""
    text = drop_repeats(_CONTROL.sub(" ", text).strip())
    if not any(c.isalnum() for c in text):
        return ""  # "...", "***" or punctuation: an echoed placeholder, not an answer
    if _banned is not None:
        text = _banned.sub("***", text)
    return truncate(text, limit)


def _sanitize_value(value, field: str):
    if isinstance(value, str):
        return clean_text(value, LIMITS.get(field, 1000))
    if field == "tags" and isinstance(value, list):
        return [tag for tag in (_sanitize_value(v, "tag") for v in value) if tag]
    if isinstance(value, list):
        return [_sanitize_value(v, field) for v in value]
    if isinstance(value, dict):
        return {k: _sanitize_value(v, k) for k, v in value.items()}
    return value


def sanitize(kind: JobKind, output: BaseModel) -> BaseModel | None:
    """Clean every text field; None when nothing valid is left."""
    return _validate(kind, _sanitize_value(output.model_dump(), ""))


# --- finalize -----------------------------------------------------------------------------


def finalize(
    job: Job,
    raw_text,
    tokens_in,
    tokens_out,
    latency_ms,
    valid_kinds_check: Callable[[BaseModel, dict], bool] | None = None,
) -> JobResult:
    """Turn a backend's raw text into a JobResult that always validates; never raises.

    ``valid_kinds_check(output, context)`` is an optional extra domain check; False means the
    parsed output is discarded for the fallback.
    """
    kind = JobKind(job.kind)
    context = job.context if isinstance(job.context, dict) else {}
    output, outcome = parse_output(kind, raw_text, context)
    if (
        output is not None
        and valid_kinds_check is not None
        and not _passes(valid_kinds_check, output, context)
    ):
        output = None
    output = sanitize(kind, output) if output is not None else None
    if output is None:
        output, outcome = _sanitized_fallback(kind, context), "fallback"
    return JobResult(
        job_id=job.job_id,
        kind=kind,
        agent_id=job.agent_id,
        output=output.model_dump(mode="json"),
        outcome=outcome,
        tokens_in=int(tokens_in or 0),
        tokens_out=int(tokens_out or 0),
        latency_ms=float(latency_ms or 0.0),
        raw=raw_text[:RAW_LIMIT] if isinstance(raw_text, str) else "",
    )


def _passes(check, output, context) -> bool:
    try:
        return bool(check(output, context))
    except Exception:  # noqa: BLE001 - a broken check must not take the tick down
        return False


def _sanitized_fallback(kind: JobKind, context: dict) -> BaseModel:
    output = sanitize(kind, fallback_output(kind, context))
    return output or SCHEMAS[kind].model_validate(_LAST_RESORT[kind])
