"""The LLM service's Django side. A tick's jobs are gated by each agent's compute entitlement,
enriched with retrieved memories, answered from the cache or in one batch by the configured
backend, validated/repaired/fallen back (generation.llm.jobs.finalize), metered, and written back
as `llm.result` inputs that the world applies at a later tick. Nothing here runs inside a tick."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections

from agents.memory import memories_candidates_many, memories_rank, memories_touch
from agents.models import Agent, Memory
from generation.llm.backends import backend_from_config
from generation.llm.embeddings import get_embedder
from generation.llm.jobs import Job, JobKind, JobResult, finalize, set_banned_words
from generation.models import LLMCacheEntry, LLMCall
from generation.selectors import usage_by_agent
from world.models import World
from world.selectors import window_of
from world.services import inputs_submit_many

log = logging.getLogger("village.llm")
# How a tick's jobs are handed off (settings.VILLAGE_LLM_DISPATCH): "celery" (the `llm` queue),
# "thread" (embedded default: one background thread), "inline" (right after the tick commits, so a
# CLI run or a test is reproducible end to end), "off"; "auto" picks celery or thread.
DISPATCH_OVERRIDE: str | None = None
MAX_NEW_TOKENS = {
    JobKind.PLAN: 160, JobKind.UTTERANCE: 48, JobKind.SUMMARY: 80, JobKind.IMPORTANCE: 8,
    JobKind.REFLECTION: 120, JobKind.BOARD_POST: 120, JobKind.BOARD_REPLY: 96, JobKind.INTERVIEW: 96,
    JobKind.FLAVOR: 48,
}
MEMORIES_IN_PROMPT = {JobKind.UTTERANCE: 4, JobKind.REFLECTION: 8, JobKind.BOARD_POST: 3,
                      JobKind.BOARD_REPLY: 3, JobKind.INTERVIEW: 6, JobKind.PLAN: 3}
_BACKENDS: dict[str, object] = {}
_EXECUTOR: ThreadPoolExecutor | None = None
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Allowance:
    """What an agent may spend; the economy app's entitlements fill it in."""

    requests_per_hour: int = 6
    tokens_per_day: int = 20000
    models: tuple[str, ...] = ()
    frozen: bool = False
    tier: str = "default"


# --- backends -------------------------------------------------------------------------------

def backend_get(name: str | None = None):
    name = name or settings.VILLAGE_LLM_BACKEND
    with _LOCK:
        if name not in _BACKENDS:
            options = {}
            if name == "local" and settings.VILLAGE_LLM_MODEL_PATH:
                options["model_path"] = settings.VILLAGE_LLM_MODEL_PATH
            if name == "openai":
                options = {"base_url": settings.VILLAGE_LLM_BASE_URL, "model": settings.VILLAGE_LLM_MODEL,
                           "api_key": settings.VILLAGE_LLM_API_KEY}
            _BACKENDS[name] = backend_from_config(name, **options)
        set_banned_words(list(settings.VILLAGE_BANNED_WORDS))
        return _BACKENDS[name]


def backend_model_name(backend) -> str:
    return str(getattr(backend, "model_name", None) or getattr(backend, "model", None) or backend.name)


# --- entitlements ---------------------------------------------------------------------------

def allowances_for(agent_ids: list[int]) -> dict[int, Allowance]:
    try:
        from economy.selectors import entitlements_for
    except ImportError:
        return {agent_id: Allowance() for agent_id in agent_ids}
    found = entitlements_for(list(agent_ids))
    return {
        agent_id: Allowance(
            requests_per_hour=e.requests_per_hour, tokens_per_day=e.tokens_per_day,
            models=tuple(e.models or ()), frozen=bool(e.frozen), tier=str(e.tier),
        ) if (e := found.get(agent_id)) else Allowance()
        for agent_id in agent_ids
    }


def jobs_gate(jobs: list[Job], agents: dict[int, Agent], model: str) -> tuple[list[Job], dict[str, str]]:
    """Split jobs into allowed ones and denied ones (job_id -> reason), in job order."""
    ids = sorted(agents)
    allowances = allowances_for(ids)
    day_hours = {(j.context.get("day", 0), j.context.get("hour", 0)) for j in jobs}
    day, hour = min(day_hours) if day_hours else (0, 0)
    usage = usage_by_agent(agent_ids=ids, day=day, hour=hour)
    allowed, denied = [], {}
    for job in jobs:
        agent, allow = agents.get(job.agent_id), allowances.get(job.agent_id, Allowance())
        used = usage.setdefault(job.agent_id, {"hour_calls": 0, "day_tokens": 0})
        reason = _denial(agent, allow, used, model)
        if reason:
            denied[job.job_id] = reason
        else:
            used["hour_calls"] += 1
            allowed.append(job)
    return allowed, denied


def _denial(agent: Agent | None, allow: Allowance, used: dict, model: str) -> str:
    if agent is None:
        return "unknown agent"
    if not agent.is_active:
        return "agent switched off"
    if agent.quarantined or allow.frozen:
        return "compute frozen"
    if used["hour_calls"] >= allow.requests_per_hour:
        return f"over {allow.requests_per_hour} requests this game hour ({allow.tier})"
    if used["day_tokens"] >= allow.tokens_per_day:
        return f"over {allow.tokens_per_day} tokens today ({allow.tier})"
    if allow.models and model not in allow.models and "*" not in allow.models:
        return f"model {model} not allowed for tier {allow.tier}"
    return ""


# --- memories in prompts --------------------------------------------------------------------

def embedder_name(world: World | None = None) -> str:
    """The world's embedder: `simulate --dry-run` sets the hashing one, so a dry run calls no model."""
    options = (world.options or {}) if world is not None else {}
    return options.get("embedder") or settings.VILLAGE_EMBEDDER


def memories_embed_pending(agent_ids: list[int], limit: int = 2000, embedder: str | None = None) -> int:
    pending = list(Memory.objects.filter(agent_id__in=agent_ids, embedding__isnull=True).order_by("-id")[:limit])
    if not pending:
        return 0
    vectors = get_embedder(embedder or settings.VILLAGE_EMBEDDER).embed([m.text for m in pending])
    for memory, vector in zip(pending, vectors, strict=True):
        memory.embedding = vector.astype("float32").tobytes()
    Memory.objects.bulk_update(pending, ["embedding"], batch_size=500)
    return len(pending)


def memories_retrieve(*, agent: Agent, query: str, k: int, now_minute: int, embedder: str | None = None) -> list[Memory]:
    """The agent's k most retrievable memories for `query` (recency + importance + relevance)."""
    return memories_retrieve_many([(agent.id, query, k)], now_minute, embedder or embedder_name(agent.world))[0]


def memories_retrieve_many(wanted: list[tuple[int, str, int]], now_minute: int, embedder: str) -> list[list[Memory]]:
    """Retrieval for many (agent id, query, k) at once, in a fixed number of queries: embed the
    agents' pending memories, embed the queries in one batch, read every agent's candidates in
    one query, rank, and mark what was retrieved as accessed."""
    if not wanted:
        return []
    agent_ids = sorted({agent_id for agent_id, _, _ in wanted})
    memories_embed_pending(agent_ids, limit=2000 + 20 * len(agent_ids), embedder=embedder)
    vectors = get_embedder(embedder).embed([query for _, query, _ in wanted])
    candidates = memories_candidates_many(agent_ids)
    found = [memories_rank(candidates.get(agent_id, []), vector, now_minute, k)
             for (agent_id, _, k), vector in zip(wanted, vectors, strict=True)]
    memories_touch([m for memories in found for m in memories], now_minute)
    return found


def _query_for(job: Job) -> str:
    c = job.context
    parts = [c.get("topic"), c.get("question"), c.get("reply"), " ".join(c.get("partners") or []), c.get("place")]
    return " ".join(str(p) for p in parts if p) or "what matters to me today"


def context_enrich(job: Job, agent: Agent, now_minute: int) -> Job:
    return contexts_enrich([job], {agent.id: agent}, now_minute, embedder_name(agent.world))[0]


def contexts_enrich(jobs: list[Job], agents: dict[int, Agent], now_minute: int, embedder: str) -> list[Job]:
    """Each job's context gets its agent's persona and the memories retrieved for it."""
    wanted = [(n, job) for n, job in enumerate(jobs) if MEMORIES_IN_PROMPT.get(JobKind(job.kind), 0)]
    found = memories_retrieve_many(
        [(job.agent_id, _query_for(job), MEMORIES_IN_PROMPT[JobKind(job.kind)]) for _, job in wanted],
        now_minute,
        embedder,
    )
    memories = {n: found_for_job for (n, _), found_for_job in zip(wanted, found, strict=True)}
    enriched = []
    for n, job in enumerate(jobs):
        agent = agents[job.agent_id]
        context = dict(job.context, name=agent.name, persona=agent.bio, traits=list(agent.traits))
        if n in memories:
            context["memories"] = [m.text for m in memories[n]]
            context["memory_ids"] = [m.id for m in memories[n]]
        enriched.append(Job(kind=JobKind(job.kind), agent_id=job.agent_id, context=context, job_id=job.job_id))
    return enriched


# --- running jobs ---------------------------------------------------------------------------

def prompt_hash(backend_name: str, model: str, prompt: str) -> str:
    return hashlib.sha256(f"{backend_name}\x00{model}\x00{prompt}".encode()).hexdigest()


def jobs_complete(jobs: list[Job], backend) -> list[tuple[JobResult, bool]]:
    """Answer jobs from the cache where possible and the rest in one batch per output length."""
    model = backend_model_name(backend)
    prompts = {job.job_id: job.prompt() for job in jobs}
    hashes = {job.job_id: prompt_hash(backend.name, model, prompts[job.job_id]) for job in jobs}
    cached = {e.prompt_hash: e for e in LLMCacheEntry.objects.filter(prompt_hash__in=set(hashes.values()))}
    results: dict[str, tuple[JobResult, bool]] = {}
    todo: dict[int, list[Job]] = {}
    for job in jobs:
        entry = cached.get(hashes[job.job_id])
        if entry:
            results[job.job_id] = (finalize(job, entry.response, entry.tokens_in, entry.tokens_out, 0.0), True)
        else:
            todo.setdefault(MAX_NEW_TOKENS[JobKind(job.kind)], []).append(job)
    fresh = []
    for max_new, batch in sorted(todo.items()):
        started = time.perf_counter()
        try:
            completions = backend.complete_batch([prompts[j.job_id] for j in batch], max_new)
        except Exception:  # noqa: BLE001 - a failing model means fallbacks, never a dead worker
            log.exception("llm backend %s failed on a batch of %d", backend.name, len(batch))
            completions = [None] * len(batch)
        per_job_ms = (time.perf_counter() - started) * 1000 / max(1, len(batch))
        for job, completion in zip(batch, completions, strict=True):
            text = completion.text if completion else ""
            tokens_in, tokens_out = (completion.tokens_in, completion.tokens_out) if completion else (0, 0)
            results[job.job_id] = (finalize(job, text, tokens_in, tokens_out, per_job_ms), False)
            if completion and text:
                fresh.append(LLMCacheEntry(prompt_hash=hashes[job.job_id], kind=str(job.kind), model=model,
                                           response=text, tokens_in=tokens_in, tokens_out=tokens_out))
    LLMCacheEntry.objects.bulk_create(fresh, ignore_conflicts=True)
    return [results[job.job_id] for job in jobs]


def llm_jobs_run(*, world_id: int, jobs: list[dict], backend_name: str | None = None) -> list[JobResult]:
    """Run one tick's jobs and queue their results as inputs for a later tick."""
    world = World.objects.get(pk=world_id)
    backend = backend_get(backend_name or world.options.get("llm_backend"))
    model = backend_model_name(backend)
    agents = Agent.objects.in_bulk({j["agent_id"] for j in jobs})
    parsed = [Job(kind=JobKind(j["kind"]), agent_id=j["agent_id"], context=dict(j["context"]), job_id=j["job_id"])
              for j in jobs]
    allowed, denied = jobs_gate(parsed, agents, model)
    now = _now_minute(world)
    enriched = contexts_enrich(allowed, agents, now, embedder_name(world))
    answered = dict(zip([j.job_id for j in enriched], jobs_complete(enriched, backend), strict=True))
    results, calls = [], []
    for job in parsed:
        if job.job_id in denied:
            result, cached = finalize(job, "", 0, 0, 0.0), False
            result.outcome = LLMCall.Outcome.DENIED
        else:
            result, cached = answered[job.job_id]
        results.append(result)
        calls.append(_metering_row(world, job, result, cached, backend.name, model, denied.get(job.job_id)))
    LLMCall.objects.bulk_create(calls)
    inputs_submit_many(world_id=world_id, items=[
        ("llm.result", _result_payload(job, result), f"llm:{backend.name}") for job, result in zip(parsed, results, strict=True)
    ])
    return results


def _now_minute(world: World) -> int:
    return window_of(world).game_minutes(max(0, world.tick - 1))


def _metering_row(world, job, result, cached, backend_name, model, denial) -> LLMCall:
    return LLMCall(
        world=world, agent_id=job.agent_id, kind=str(job.kind), job_id=job.job_id[:80],
        backend="rule" if denial else backend_name, model=model, cached=cached, outcome=result.outcome,
        tokens_in=result.tokens_in, tokens_out=result.tokens_out, latency_ms=result.latency_ms,
        game_day=int(job.context.get("day", 0)), game_hour=int(job.context.get("hour", 0)),
    )


def _result_payload(job: Job, result: JobResult) -> dict:
    payload = {"agent_id": job.agent_id, "kind": str(job.kind), "output": result.output, "outcome": result.outcome,
               "day": job.context.get("day"), "chat": job.context.get("chat"),
               "listeners": job.context.get("listeners", []), "job_id": job.job_id}
    for key in ("post_id", "post_ref"):  # a board reply says which post it answers
        if key in job.context:
            payload[key] = job.context[key]
    return payload


# --- hand-off from the tick -----------------------------------------------------------------

def llm_jobs_submit(world_id: int, out) -> None:
    """After a tick commits: hand its jobs to the LLM service without ever blocking the tick."""
    mode = dispatch_mode()
    if not out.jobs or mode == "off":
        return
    if mode == "inline":
        llm_jobs_run(world_id=world_id, jobs=out.jobs)
    elif mode == "thread":
        _executor().submit(_run_in_thread, world_id, out.jobs)
    else:
        from generation.tasks import llm_run_jobs  # noqa: PLC0415 - tasks import services

        llm_run_jobs.delay(world_id, out.jobs)


def dispatch_mode() -> str:
    mode = DISPATCH_OVERRIDE or settings.VILLAGE_LLM_DISPATCH
    if mode == "auto":
        return "thread" if settings.CELERY_TASK_ALWAYS_EAGER else "celery"
    return mode


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    with _LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm")
        return _EXECUTOR


def _run_in_thread(world_id: int, jobs: list[dict]) -> None:
    close_old_connections()
    try:
        llm_jobs_run(world_id=world_id, jobs=jobs)
    except Exception:  # noqa: BLE001 - logged; the world goes on with rule-based behaviour
        log.exception("llm jobs for world %s failed", world_id)
    finally:
        close_old_connections()


# --- interview ------------------------------------------------------------------------------

class InterviewError(ValueError):
    pass


@dataclass
class InterviewAnswer:
    answer: str
    memories: list[Memory]
    outcome: str


def interview_answer(*, agent: Agent, question: str, backend_name: str | None = None) -> InterviewAnswer:
    """Ask an agent a question; the answer is grounded in its retrieved memories."""
    question = (question or "").strip()
    if not question:
        raise InterviewError("question: may not be empty")
    if len(question) > 500:
        raise InterviewError("question: at most 500 characters")
    world = agent.world
    backend = backend_get(backend_name or world.options.get("llm_backend"))
    window_minute = _now_minute(world)
    job = Job(kind=JobKind.INTERVIEW, agent_id=agent.id, job_id=f"interview-{agent.id}-{time.time_ns()}",
              context={"question": question, "day": window_of(world).day_of(world.tick)})
    allowed, denied = jobs_gate([job], {agent.id: agent}, backend_model_name(backend))
    enriched = context_enrich(job, agent, window_minute)
    if denied:
        result, cached = finalize(enriched, "", 0, 0, 0.0), False
        result.outcome = LLMCall.Outcome.DENIED
    else:
        result, cached = jobs_complete([enriched], backend)[0]
    _metering_row(world, job, result, cached, backend.name, backend_model_name(backend),
                  denied.get(job.job_id)).save()
    ids = enriched.context.get("memory_ids", [])
    memories = sorted(Memory.objects.filter(id__in=ids), key=lambda m: ids.index(m.id))
    return InterviewAnswer(answer=result.output["answer"], memories=memories, outcome=result.outcome)

