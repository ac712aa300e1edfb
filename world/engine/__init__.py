"""The simulation engine: plain Python + numpy over a compact in-memory world state. No Django
here, so the engine can be benchmarked, replayed and tested on its own; the tick orchestrator
(`village/tick.py`) loads state from the database, calls `engine_step`, and persists the result."""
