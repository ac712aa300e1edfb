"""Whatever a model writes, finalize returns a valid output and never raises."""

import json
import random

import pytest

from generation.llm.jobs import SCHEMAS, Job, JobKind, finalize, parse_output
from generation.llm.repair import repair_json

CONTEXT = {
    "name": "Ana",
    "memories": ["Bo lent me flour", "The mill burned down"],
    "activities": ["work", "eat"],
    "places": ["bakery", "home"],
    "topic": "the fair",
    "post": "Flour for the fair",
    "post_author": "Ana",
    "reply": "I can bring two sacks.",
    "reply_author": "hana",
}
SNIPPETS = [
    "",
    " ",
    "null",
    "true",
    "42",
    "-1e309",
    "NaN",
    "[]",
    "{}",
    '{"',
    "{'text': ",
    '{"text": null}',
    '{"text": 12}',
    '{"text": ["a"]}',
    '{"score": "high"}',
    '{"score": 3.7}',
    '{"score": true}',
    '{"items": [{"hour": 99, "activity": "work", "place": "bakery"}]}',
    '{"items": [[8, "work", "bakery"], ["x"]]}',
    '{"items": {"hour": 8}}',
    '{"insights": "just a string"}',
    '{"insights": [{"text": "", "evidence": ["a", null, 1.5]}]}',
    '{"title": "", "body": "b", "tags": "a,b,c,d,e,f,g"}',
    '{"title": "t", "body": "b", "tags": [1, null, {"x": 1}]}',
    "<script>alert('x')</script>",
    '<div onclick="evil()">{"text": "hi"}</div>',
    "你好，我们明天在广场见面吧。",
    '{"text": "مرحبا بكم في القرية"}',
    "```json\n",
    "```",
    "\x00\x01\x02",
    "\\u0000\\ud800",
    '{"a": "\\ud800"}',
    "}}}]]]",
    "{[}]",
    "[" * 5000,
    "[" * 100 + "]" * 100,
    '{"a":' * 200,
]


def garbage(rng: random.Random) -> str:
    """One deterministic garbage output: a snippet, a mutation of one, or a random blob."""
    choice = rng.randrange(8)
    if choice == 0:
        return rng.choice(SNIPPETS)
    if choice == 1:
        text = rng.choice(SNIPPETS) + rng.choice(SNIPPETS)
        return text[: rng.randrange(len(text) + 1)]
    if choice == 2:
        return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(200)))
    if choice == 3:
        return "".join(rng.choice("{}[]\":,'\\ 0123abc\n") for _ in range(rng.randrange(300)))
    if choice == 4:
        return json.dumps(random_json(rng, depth=4))
    if choice == 5:
        text = json.dumps(random_json(rng, depth=4))
        return text[: rng.randrange(len(text) + 1)]
    if choice == 6:
        return "Sure! ```json\n" + json.dumps(random_json(rng, depth=3)) + "\n``` hope it helps"
    return rng.choice(["x", "{", "中", "\u0627"]) * rng.choice([10, 5000, 100_000])


def random_json(rng: random.Random, depth: int):
    keys = [
        "text",
        "summary",
        "answer",
        "score",
        "items",
        "insights",
        "title",
        "body",
        "tags",
        "hour",
        "activity",
        "place",
        "evidence",
        "reply",
        "junk",
    ]
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice([None, True, 0, -5, 7, 3.14, 1e300, "", "work", "bakery", "x" * 700])
    if rng.random() < 0.5:
        return [random_json(rng, depth - 1) for _ in range(rng.randrange(4))]
    return {rng.choice(keys): random_json(rng, depth - 1) for _ in range(rng.randrange(5))}


def assert_valid(kind: JobKind, result) -> None:
    assert result.outcome in {"ok", "repaired", "fallback"}
    SCHEMAS[kind].model_validate(result.output)
    if kind == JobKind.PLAN:
        assert {i["place"] for i in result.output["items"]} <= set(CONTEXT["places"])
        assert {i["activity"] for i in result.output["items"]} <= set(CONTEXT["activities"])


@pytest.mark.parametrize("kind", list(JobKind))
def test_finalize_survives_garbage(kind):
    rng = random.Random(f"fuzz-{kind.value}")
    job = Job(kind=kind, agent_id=1, context=CONTEXT, job_id="fuzz")

    for _ in range(1_000):
        assert_valid(kind, finalize(job, garbage(rng), 1, 1, 1.0))


@pytest.mark.parametrize("kind", list(JobKind))
def test_finalize_survives_huge_and_non_string_outputs(kind):
    job = Job(kind=kind, agent_id=1, context=CONTEXT, job_id="fuzz")
    huge = '{"text": "' + "a" * 1_000_000 + '"}'

    for raw in (huge, "x" * 1_000_000, None, 12, b'{"text": "bytes"}', ["list"], {"text": "hi"}):
        assert_valid(kind, finalize(job, raw, 1, 1, 1.0))


def test_odd_contexts_do_not_break_finalize():
    for context in (None, {}, {"places": None, "memories": [None, 3]}, {"activities": "work"}):
        for kind in JobKind:
            job = Job(kind=kind, agent_id=1, context=context, job_id="odd")
            SCHEMAS[kind].model_validate(finalize(job, "garbage", 0, 0, 0).output)


def test_parse_and_repair_never_raise_on_deep_nesting():
    for text in ("[" * 100_000, '{"a":' * 50_000, "[" * 10_000 + "]" * 10_000):
        assert parse_output(JobKind.PLAN, text, CONTEXT)[1] in {"ok", "repaired", "invalid"}
        repair_json(text)
