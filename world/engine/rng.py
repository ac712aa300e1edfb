"""Named RNG streams (`world`, `events`, `policy`). Each stream is derived from (seed, stream,
tick), and optionally a purpose within the tick (`policy/decide`, `events/converse`), so a tick's
randomness depends on nothing but those numbers: replay from any snapshot needs no saved generator
state, and one stage drawing more or fewer numbers never shifts another stage's draws.

The engine draws fixed-size arrays (one number per agent, or per agent and hour) rather than one
number per decision, so the vectorized fast path and the per-agent reference read the same
numbers in whatever order they visit the agents."""

import zlib

import numpy as np

STREAMS = ("world", "events", "policy")


def stream(seed: int, name: str, tick: int, purpose: str = "") -> np.random.Generator:
    key = [seed & 0xFFFFFFFF, zlib.crc32(name.encode()), tick]
    if purpose:
        key.append(zlib.crc32(purpose.encode()))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))
