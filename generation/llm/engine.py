"""Batched greedy generation for decoder-only transformers models, without Django.

A tick's jobs arrive as one list of prompts. Calling ``model.generate()`` per prompt wastes the
hardware, and one big padded ``generate()`` wastes compute on padding and on rows that already
finished. ``BatchEngine`` instead:

- sorts requests by length so that every prefill batch is padded as little as possible,
  and splits prefills by a token budget to bound memory;
- keeps the KV cache of each layer in a preallocated slab written in place (transformers'
  ``DynamicLayer`` concatenates the whole cache on every step);
- retires finished rows from the running batch and refills free rows from the queue
  (continuous batching: new rows are prefilled apart and merged, right-aligned, into the cache);
- decodes greedily under ``torch.inference_mode`` and computes logits for the last position only.

Rows are left-padded; padding never leaks into results because every row carries its own
attention mask and position ids, so outputs equal per-prompt greedy ``generate()``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

# huggingface_hub reads this when first imported: models come from packages, never the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from transformers.cache_utils import Cache, DynamicLayer  # noqa: E402

from generation.llm.backends import Completion  # noqa: E402

__all__ = ["BatchEngine", "Completion"]


class SlabLayer(DynamicLayer):
    """One layer's KV cache in a buffer with headroom; ``keys``/``values`` are views into it."""

    def __init__(self, headroom: int):
        super().__init__()
        self.headroom = headroom
        self.length = 0
        self.key_slab: torch.Tensor | None = None
        self.value_slab: torch.Tensor | None = None

    def update(self, key_states, value_states, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if self.key_slab is None or end > self.key_slab.shape[-2]:
            self._grow(key_states, end + self.headroom)
        self.key_slab[..., self.length : end, :] = key_states
        self.value_slab[..., self.length : end, :] = value_states
        self.length = end
        self._refresh_views()
        return self.keys, self.values

    def _grow(self, like: torch.Tensor, capacity: int) -> None:
        batch, heads, _, dim = like.shape
        keys = like.new_zeros(batch, heads, capacity, dim)
        values = like.new_zeros(batch, heads, capacity, dim)
        if self.key_slab is not None:
            keys[..., : self.length, :] = self.key_slab[..., : self.length, :]
            values[..., : self.length, :] = self.value_slab[..., : self.length, :]
        self.key_slab, self.value_slab = keys, values

    def _refresh_views(self) -> None:
        self.keys = self.key_slab[..., : self.length, :]
        self.values = self.value_slab[..., : self.length, :]

    def get_seq_length(self) -> int:
        return self.length

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self.key_slab = self.key_slab[indices]
        self.value_slab = self.value_slab[indices]
        self._refresh_views()

    def trim_left(self, columns: int) -> None:
        # A view, not a copy: the columns were padding for every remaining row.
        self.key_slab = self.key_slab[..., columns:, :]
        self.value_slab = self.value_slab[..., columns:, :]
        self.length -= columns
        self._refresh_views()

    def reset(self) -> None:
        self.key_slab = self.value_slab = None
        self.length = 0
        super().reset()


def merge_layers(parts: list[SlabLayer], headroom: int) -> SlabLayer:
    """Stack layers' rows, right-aligning the shorter ones (their left columns become padding)."""
    length = max(part.length for part in parts)
    batch = sum(part.key_slab.shape[0] for part in parts)
    _, heads, _, dim = parts[0].key_slab.shape
    merged = SlabLayer(headroom)
    merged.key_slab = parts[0].key_slab.new_zeros(batch, heads, length + headroom, dim)
    merged.value_slab = torch.zeros_like(merged.key_slab)
    row = 0
    for part in parts:
        rows, start = part.key_slab.shape[0], length - part.length
        merged.key_slab[row : row + rows, :, start:length] = part.keys
        merged.value_slab[row : row + rows, :, start:length] = part.values
        row += rows
    merged.length = length
    merged.is_initialized = True
    merged.dtype, merged.device = parts[0].dtype, parts[0].device
    merged._refresh_views()
    return merged


@dataclass
class _Running:
    """The rows currently decoding: their cache, padding mask, next positions and last tokens."""

    requests: list[int]
    cache: Cache
    mask: torch.Tensor  # [rows, cache length], 1 where a real token sits
    positions: torch.Tensor  # [rows], position id of the next token
    last_tokens: torch.Tensor  # [rows]

    @property
    def layers(self) -> list[SlabLayer]:
        return self.cache.layers

    def select(self, keep: list[int]) -> None:
        index = torch.tensor(keep, device=self.mask.device)
        for layer in self.layers:
            layer.batch_select_indices(index)
        self.requests = [self.requests[i] for i in keep]
        self.mask, self.positions = self.mask[index], self.positions[index]
        self.last_tokens = self.last_tokens[index]
        self.trim_padding()

    def trim_padding(self) -> None:
        used = self.mask.any(dim=0).nonzero()
        first = int(used[0]) if len(used) else 0
        if first > 0:
            for layer in self.layers:
                layer.trim_left(first)
            self.mask = self.mask[:, first:]


def _merge_running(parts: list[_Running], headroom: int) -> _Running:
    """One running batch from several; a single copy of every cache however many parts."""
    if len(parts) == 1:
        return parts[0]
    layers = [merge_layers(list(group), headroom) for group in zip(*(p.layers for p in parts))]
    length = layers[0].length
    return _Running(
        requests=[request for part in parts for request in part.requests],
        cache=Cache(layers=layers),
        mask=torch.cat([F.pad(part.mask, (length - part.mask.shape[1], 0)) for part in parts]),
        positions=torch.cat([part.positions for part in parts]),
        last_tokens=torch.cat([part.last_tokens for part in parts]),
    )


class _Call:
    """Per-call bookkeeping: tokens produced so far and which requests are finished."""

    def __init__(self, prompts, max_new_tokens, stop_on_eos, stoppers, eos_token_ids):
        self.prompts = prompts
        self.max_new_tokens = max_new_tokens
        self.stop_on_eos = stop_on_eos
        self.stoppers = stoppers
        self.eos_token_ids = eos_token_ids
        self.results: list[list[int]] = [[] for _ in prompts]
        self.done: set[int] = set()

    def record(self, requests: list[int], tokens: list[int]) -> None:
        for request, token in zip(requests, tokens):
            self.results[request].append(token)
            if self._finished(request, token):
                self.done.add(request)

    def _finished(self, request: int, token: int) -> bool:
        if len(self.results[request]) >= self.max_new_tokens:
            return True
        if self.stop_on_eos and token in self.eos_token_ids:
            return True
        return bool(self.stoppers and self.stoppers[request](token))


@dataclass
class EngineStats:
    """Counters from the last ``generate`` call; tests use them to see retirement happen."""

    prefill_batches: int = 0
    decode_steps: int = 0
    compactions: int = 0
    peak_rows: int = 0
    rows_per_step: list[int] = field(default_factory=list)


class BatchEngine:
    """Greedy batched generation over a causal LM with continuous batching."""

    def __init__(
        self,
        model,
        tokenizer,
        device: str | torch.device | None = None,
        max_batch_size: int = 64,
        prefill_token_budget: int = 4096,
        max_prefill_padding: float = 0.1,
        eos_token_ids: list[int] | None = None,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device or next(model.parameters()).device)
        self.max_batch_size = max_batch_size
        self.prefill_token_budget = prefill_token_budget
        self.max_prefill_padding = max_prefill_padding
        self.eos_token_ids = set(eos_token_ids if eos_token_ids is not None else self._eos_ids())
        self.pad_token_id = self._pad_id()
        self.stats = EngineStats()
        # One generation at a time: the model is shared and the stats describe one call.
        self._lock = threading.Lock()

    def _eos_ids(self) -> list[int]:
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        if eos is None and self.tokenizer is not None:
            eos = self.tokenizer.eos_token_id
        if eos is None:
            return []
        return list(eos) if isinstance(eos, (list, tuple)) else [int(eos)]

    def _pad_id(self) -> int:
        pad = getattr(self.tokenizer, "pad_token_id", None) if self.tokenizer else None
        if pad is None:
            pad = min(self.eos_token_ids) if self.eos_token_ids else 0
        return int(pad)

    def generate(
        self,
        prompts: list[str],
        max_new_tokens: int,
        greedy: bool = True,
        add_special_tokens: bool = True,
        stop_on_eos: bool = True,
        stoppers: list[Callable[[int], bool]] | None = None,
    ) -> list[Completion]:
        """Generate a completion for every prompt, returned in the order given.

        ``stoppers[i]``, if given, sees each new token of prompt i and returns True to end it.
        """
        if not greedy:
            # Sampling would make ticks unreproducible; the village only needs greedy.
            raise NotImplementedError("BatchEngine decodes greedily only")
        encoded = [
            self.tokenizer(p, add_special_tokens=add_special_tokens)["input_ids"] for p in prompts
        ]
        outputs = self.generate_ids(encoded, max_new_tokens, stop_on_eos, stoppers)
        return [
            Completion(
                text=self.tokenizer.decode(out, skip_special_tokens=True),
                tokens_in=len(ids),
                tokens_out=len(out),
                token_ids=out,
            )
            for ids, out in zip(encoded, outputs)
        ]

    @torch.inference_mode()
    def generate_ids(
        self,
        prompts: list[list[int]],
        max_new_tokens: int,
        stop_on_eos: bool = True,
        stoppers: list[Callable[[int], bool]] | None = None,
    ) -> list[list[int]]:
        """Token-level generation: new token ids per prompt (an eos that stopped a row included)."""
        with self._lock:
            return self._generate_ids(prompts, max_new_tokens, stop_on_eos, stoppers)

    def _generate_ids(self, prompts, max_new_tokens, stop_on_eos, stoppers) -> list[list[int]]:
        self.stats = EngineStats()
        call = _Call(prompts, max_new_tokens, stop_on_eos, stoppers, self.eos_token_ids)
        if max_new_tokens <= 0:
            return call.results
        # Longest first: the biggest caches are allocated early and later merges only pad.
        queue = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        queue = [i for i in queue if len(prompts[i]) > 0]
        running: _Running | None = None
        refill_at = max(1, self.max_batch_size // 4)
        while queue or running is not None:
            free = self.max_batch_size - (len(running.requests) if running else 0)
            if queue and (running is None or free >= refill_at):
                group, queue = queue[:free], queue[free:]
                running = self._admit(call, running, group)
            else:
                call.record(running.requests, self._decode_step(running))
            self.stats.peak_rows = max(self.stats.peak_rows, len(running.requests))
            running = self._retire(running, call)
        return call.results

    def _admit(self, call: _Call, running: _Running | None, group: list[int]) -> _Running:
        """Prefill ``group`` in narrow chunks and merge it into the running batch."""
        headroom = call.max_new_tokens
        fresh = [
            self._prefill_chunk(call.prompts, chunk, headroom)
            for chunk in self._prefill_chunks(call.prompts, group)
        ]
        for part in fresh:
            call.record(part.requests, part.last_tokens.tolist())
        return _merge_running(([running] if running else []) + fresh, headroom)

    def _prefill_chunks(self, prompts, group: list[int]) -> list[list[int]]:
        """Split a longest-first group so each prefill is narrowly padded and bounded in size."""
        chunks, current = [], []
        for request in group:
            if current and not self._fits(
                len(prompts[current[0]]), len(current), len(prompts[request])
            ):
                chunks.append(current)
                current = []
            current.append(request)
        return chunks + ([current] if current else [])

    def _fits(self, width: int, rows: int, length: int) -> bool:
        # Padding is wasted compute, so a row joins only if it wastes little; the cap on padded
        # tokens bounds activation memory.
        wasted = width - length
        return (
            width * (rows + 1) <= self.prefill_token_budget
            and wasted <= self.max_prefill_padding * width
        )

    def _prefill_chunk(self, prompts, chunk: list[int], headroom: int) -> _Running:
        width = max(len(prompts[i]) for i in chunk)
        ids = torch.full((len(chunk), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, request in enumerate(chunk):
            tokens = prompts[request]
            ids[row, width - len(tokens) :] = torch.tensor(tokens, dtype=torch.long)
            mask[row, width - len(tokens) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        cache = Cache(layers=[SlabLayer(headroom) for _ in range(self._num_layers())])
        logits = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        ).logits
        self.stats.prefill_batches += 1
        return _Running(
            requests=list(chunk),
            cache=cache,
            mask=mask,
            positions=mask.sum(dim=1),
            last_tokens=logits[:, -1, :].argmax(dim=-1),
        )

    def _num_layers(self) -> int:
        config = self.model.config
        config = getattr(config, "text_config", None) or config
        return config.num_hidden_layers

    def _decode_step(self, running: _Running) -> list[int]:
        rows = len(running.requests)
        running.mask = torch.cat([running.mask, running.mask.new_ones(rows, 1)], dim=1)
        logits = self.model(
            input_ids=running.last_tokens[:, None],
            attention_mask=running.mask,
            position_ids=running.positions[:, None],
            past_key_values=running.cache,
            use_cache=True,
            logits_to_keep=1,
        ).logits
        running.positions = running.positions + 1
        running.last_tokens = logits[:, -1, :].argmax(dim=-1)
        self.stats.decode_steps += 1
        self.stats.rows_per_step.append(rows)
        return running.last_tokens.tolist()

    def _retire(self, running: _Running, call: _Call) -> _Running | None:
        keep = [row for row, request in enumerate(running.requests) if request not in call.done]
        if not keep:
            return None
        if len(keep) < len(running.requests):
            running.select(keep)
            self.stats.compactions += 1
        return running
