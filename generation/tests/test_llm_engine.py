"""BatchEngine against transformers' own greedy generate(), on a tiny random Llama (no downloads)."""

import random

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: E402

from generation.llm import backends  # noqa: E402
from generation.llm.backends import JsonEndStopper, LocalBackend  # noqa: E402
from generation.llm.engine import BatchEngine  # noqa: E402

VOCAB = 1000
EOS = 2


@pytest.fixture(scope="module")
def tokenizer():
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3}
    vocab.update({f"w{i}": i + 4 for i in range(VOCAB - 4)})
    word_level = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    word_level.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=word_level,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
    )


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=EOS,
        pad_token_id=0,
        tie_word_embeddings=True,
        # Wide weights make logits peaked, so greedy ties cannot flip on float rounding.
        initializer_range=0.5,
    )
    return LlamaForCausalLM(config).eval()


def random_prompts(count: int, seed: int = 0, longest: int = 40) -> list[list[int]]:
    rng = random.Random(seed)
    return [[rng.randrange(4, VOCAB) for _ in range(rng.randint(1, longest))] for _ in range(count)]


def reference(model, prompt: list[int], max_new_tokens: int, eos: int = EOS) -> list[int]:
    ids = torch.tensor([prompt])
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=eos,
        pad_token_id=0,
    )
    return out[0, ids.shape[1] :].tolist()


@pytest.mark.parametrize("max_prefill_padding", [0.1, 1.0])
def test_greedy_outputs_equal_per_prompt_generate(model, tokenizer, max_prefill_padding):
    prompts = random_prompts(12)
    engine = BatchEngine(model, tokenizer, "cpu", max_prefill_padding=max_prefill_padding)

    outputs = engine.generate_ids(prompts, 10)

    assert outputs == [reference(model, p, 10) for p in prompts]
    if max_prefill_padding == 1.0:
        assert engine.stats.prefill_batches == 1  # one heavily left-padded prefill


def test_finished_rows_are_retired_and_results_still_match(model):
    prompts = random_prompts(16, seed=1)
    free_run = BatchEngine(model, None, "cpu").generate_ids(prompts, 12, stop_on_eos=False)
    # A token that some rows emit mid-way becomes "eos", so rows end at different steps.
    eos = max(
        {t for out in free_run for t in out[2:8]}, key=lambda t: sum(t in o for o in free_run)
    )
    engine = BatchEngine(model, None, "cpu", eos_token_ids=[eos])

    outputs = engine.generate_ids(prompts, 12)

    assert outputs == [reference(model, p, 12, eos=eos) for p in prompts]
    assert engine.stats.compactions > 0
    assert engine.stats.rows_per_step[-1] < engine.stats.rows_per_step[0]


def test_more_prompts_than_the_batch_size_are_queued_and_refilled(model):
    prompts = random_prompts(21, seed=2)
    engine = BatchEngine(model, None, "cpu", max_batch_size=4)

    outputs = engine.generate_ids(prompts, 6)

    assert outputs == [reference(model, p, 6) for p in prompts]
    assert engine.stats.peak_rows == 4
    assert engine.stats.prefill_batches >= 6


def test_a_small_prefill_budget_splits_prefills_without_changing_results(model):
    prompts = random_prompts(10, seed=3, longest=60)
    engine = BatchEngine(model, None, "cpu", prefill_token_budget=64, max_prefill_padding=0.0)

    outputs = engine.generate_ids(prompts, 5)

    assert outputs == [reference(model, p, 5) for p in prompts]
    assert engine.stats.prefill_batches >= 5


def test_text_generation_decodes_and_counts_tokens(model, tokenizer):
    engine = BatchEngine(model, tokenizer, "cpu")

    completions = engine.generate(["w1 w2 w3", "w9"], 4, stop_on_eos=False)

    assert [c.tokens_in for c in completions] == [3, 1]
    assert [c.tokens_out for c in completions] == [4, 4]
    assert completions[0].text == tokenizer.decode(completions[0].token_ids)


def test_stoppers_end_rows_early(model):
    engine = BatchEngine(model, None, "cpu")
    seen = {0: 0, 1: 0}

    def stop_after(row, count):
        def stopper(token):
            seen[row] += 1
            return seen[row] >= count

        return stopper

    outputs = engine.generate_ids(
        random_prompts(2, seed=4),
        10,
        stop_on_eos=False,
        stoppers=[stop_after(0, 3), stop_after(1, 7)],
    )

    assert [len(o) for o in outputs] == [3, 7]


def test_nothing_to_do_returns_empty_results(model):
    engine = BatchEngine(model, None, "cpu")

    assert engine.generate_ids([], 5) == []
    assert engine.generate_ids([[5, 6], []], 0) == [[], []]
    assert engine.generate_ids([[]], 3) == [[]]


def test_sampling_is_refused(model, tokenizer):
    with pytest.raises(NotImplementedError):
        BatchEngine(model, tokenizer, "cpu").generate(["w1"], 2, greedy=False)


class CharTokenizer:
    def decode(self, ids):
        return "".join(chr(i) for i in ids)


def test_json_end_stopper_follows_nesting_and_strings():
    stopper = JsonEndStopper(CharTokenizer(), '{"text": "')
    tail = 'a } in a string", "x": [1, {"y": "]"}]}'

    fired = [stopper.feed_token(ord(c)) for c in tail]

    assert fired.index(True) == len(tail) - 1


def test_local_backend_prefixes_the_response_and_strips_the_marker(model, tokenizer, monkeypatch):
    engine = BatchEngine(model, tokenizer, "cpu")
    monkeypatch.setitem(backends._LOADED, ("tiny", None, "cpu"), (model, tokenizer, engine))
    sent = []
    real_generate = engine.generate

    def spy(texts, max_new_tokens, **options):
        sent.extend(texts)
        return real_generate(texts, max_new_tokens, **options)

    monkeypatch.setattr(engine, "generate", spy)
    backend = LocalBackend(model_path="tiny", device="cpu")

    [completion] = backend.complete_batch(["KIND: utterance\nw5 w6"], 3)

    assert sent == ['w5 w6{"text": "']
    assert completion.text.startswith('{"text": "')
    assert completion.tokens_out == 3


@pytest.mark.model
def test_the_real_smollm2_gguf_generates_for_two_prompts():
    backend = LocalBackend(device="cpu")

    completions = backend.complete_batch(["KIND: flavor\nSay hello.", "What is 2+2?"], 8)

    assert len(completions) == 2
    assert all(c.tokens_out > 0 and c.tokens_in > 10 for c in completions)
    assert completions[0].text.startswith('{"text": "')
