"""GGUF -> mlx-lm model directory, without PyTorch.

mlx-lm cannot read GGUF and `mlx.core.load` fails on Q4_K/Q4_1 tensors, but the `gguf` package
dequantises every llama.cpp type with numpy. Weights are written as float32 safetensors (fastest
on a CPU here; bf16 and re-quantised weights were slower), renamed to mlx-lm's parameter names.
llama.cpp permutes the Q/K projection rows of llama-architecture models for its rotary layout;
that is undone here. The tokenizer is rebuilt from the GGUF metadata with `tokenizers`
(transformers' own GGUF path imports torch). Only the llama architecture (Llama, SmolLM, Mistral
and others llama.cpp labels `llama`) with a byte-level BPE vocabulary is converted: it is what the
tests verify logit for logit. Other families need their own name maps and fixes (Gemma, for one,
stores its RMSNorm scale as 1 + w) and are refused with a clear message.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from publisher.errors import DraftError

Log = Callable[[str], None]

# llama.cpp tensor names -> mlx-lm parameter names (per block, then global).
_BLOCK_NAMES = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "ffn_norm": "post_attention_layernorm",
}
_GLOBAL_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
SUPPORTED = {"llama"}
# Pre-tokenizer splits by `tokenizer.ggml.pre`; the rest use GPT-2's byte-level regex.
_DIGIT_SPLIT_PRE = {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"}
_LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_REGEX_PRE = {"llama-bpe": _LLAMA3_SPLIT, "llama3": _LLAMA3_SPLIT}
_END_TOKENS = ("<|im_end|>", "<|endoftext|>", "<end_of_turn>", "<|eot_id|>", "<|end_of_text|>", "</s>", "<eos>")


def _field(reader: Any, key: str, default: Any = None) -> Any:
    field = reader.fields.get(key)
    if field is None:
        return default
    try:
        return field.contents()
    except Exception:
        return default


def unpermute_qk(weight: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of llama.cpp's `permute` for Q/K rows (interleaved -> half-split rotary layout)."""
    rows = weight.shape[0]
    return (weight.reshape(n_head, rows // n_head // 2, 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def permute_qk(weight: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's own permutation (used by tests to prove the round trip)."""
    rows = weight.shape[0]
    return (weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def _mlx_name(gguf_name: str) -> str | None:
    base, _, suffix = gguf_name.rpartition(".")
    parts = base.split(".")
    if parts[0] == "blk" and len(parts) == 3 and parts[2] in _BLOCK_NAMES:
        return f"model.layers.{parts[1]}.{_BLOCK_NAMES[parts[2]]}.{suffix}"
    if base in _GLOBAL_NAMES:
        return f"{_GLOBAL_NAMES[base]}.{suffix}"
    return None


def convert_tensors(reader: Any, arch: str, n_head: int, n_kv_head: int, log: Log) -> Iterator[tuple[str, np.ndarray]]:
    from gguf.quants import dequantize

    total = len(reader.tensors)
    for i, tensor in enumerate(reader.tensors, 1):
        name = _mlx_name(tensor.name)
        if name is None:
            raise DraftError(f"GGUF tensor {tensor.name!r} has no mlx-lm counterpart ({arch}); this file is not supported")
        data = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
        shape = tuple(int(d) for d in reversed(tensor.shape))
        data = data.reshape(shape)
        if tensor.name.endswith("attn_q.weight"):
            data = unpermute_qk(data, n_head)
        elif tensor.name.endswith("attn_k.weight"):
            data = unpermute_qk(data, n_kv_head)
        if i == total or i % 50 == 0:
            log(f"  tensors {i}/{total}")
        yield name, np.ascontiguousarray(data)


def build_tokenizer(reader: Any) -> tuple[Any, dict[str, Any]]:
    """A `tokenizers` Tokenizer and the special-token settings, from the GGUF metadata."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    kind = _field(reader, "tokenizer.ggml.model")
    if kind != "gpt2":
        raise DraftError(f"GGUF tokenizer type {kind!r} is not supported yet (byte-level BPE 'gpt2' is)")
    tokens: list[str] = list(_field(reader, "tokenizer.ggml.tokens", []))
    merges = [tuple(m.split(" ", 1)) for m in _field(reader, "tokenizer.ggml.merges", [])]
    types = list(_field(reader, "tokenizer.ggml.token_type", [1] * len(tokens)))
    vocab = {tok: i for i, tok in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    pre = _field(reader, "tokenizer.ggml.pre", "default")
    if pre in _DIGIT_SPLIT_PRE:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ])
    elif pre in _REGEX_PRE:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(_REGEX_PRE[pre]), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    else:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types, strict=False) if ty == 3])

    def token(key: str) -> str | None:
        idx = _field(reader, f"tokenizer.ggml.{key}")
        return tokens[idx] if isinstance(idx, int) and 0 <= idx < len(tokens) else None

    eos_ids = {i for i in (_field(reader, "tokenizer.ggml.eos_token_id"), _field(reader, "tokenizer.ggml.eot_token_id"))
               if isinstance(i, int)}
    template = _field(reader, "tokenizer.chat_template") or ""
    # Files often name a base-model EOS; chat models stop on their turn-end token.
    eos_ids |= {vocab[t] for t in _END_TOKENS if t in vocab and (t in template or t == "<|endoftext|>")}
    eos_token = token("eos_token_id")
    if "<|im_end|>" in template and "<|im_end|>" in vocab:
        eos_token = "<|im_end|>"
    special = {
        "bos_token": token("bos_token_id"), "eos_token": eos_token, "unk_token": token("unknown_token_id"),
        "pad_token": token("padding_token_id"), "chat_template": template or None, "eos_ids": sorted(eos_ids),
        "bos_id": _field(reader, "tokenizer.ggml.bos_token_id"),
    }
    return tok, special


def _config(reader: Any, arch: str, tied: bool, special: dict[str, Any]) -> dict[str, Any]:
    def k(key: str, default: Any = None) -> Any:
        return _field(reader, f"{arch}.{key}", default)

    n_head = int(k("attention.head_count"))
    hidden = int(k("embedding_length"))
    config: dict[str, Any] = {
        "model_type": arch,
        "hidden_size": hidden,
        "num_hidden_layers": int(k("block_count")),
        "intermediate_size": int(k("feed_forward_length")),
        "num_attention_heads": n_head,
        "num_key_value_heads": int(k("attention.head_count_kv", n_head)),
        "head_dim": int(k("attention.key_length", k("rope.dimension_count", hidden // n_head))),
        "rms_norm_eps": float(k("attention.layer_norm_rms_epsilon", 1e-6)),
        "rope_theta": float(k("rope.freq_base", 10000.0)),
        "max_position_embeddings": int(k("context_length", 2048)),
        "vocab_size": int(k("vocab_size", len(_field(reader, "tokenizer.ggml.tokens", [])))),
        "tie_word_embeddings": tied,
        "eos_token_id": special["eos_ids"],
        "bos_token_id": special["bos_id"],
    }
    return config


def convert_gguf(gguf_path: Path, out_dir: Path, log: Log) -> Path:
    """Write an mlx-lm model directory for `gguf_path` at `out_dir` (atomically: a temp dir renamed)."""
    from gguf import GGUFReader
    from safetensors.numpy import save_file

    try:
        reader = GGUFReader(str(gguf_path))
    except Exception as exc:
        raise DraftError(f"{gguf_path}: not a readable GGUF file ({type(exc).__name__}: {exc})") from None
    arch = _field(reader, "general.architecture")
    if arch not in SUPPORTED:
        raise DraftError(f"{gguf_path}: architecture {arch!r} is not supported (supported: {', '.join(sorted(SUPPORTED))})")
    n_head = int(_field(reader, f"{arch}.attention.head_count"))
    n_kv = int(_field(reader, f"{arch}.attention.head_count_kv", n_head))
    log(f"converting {gguf_path.name} ({arch}, {len(reader.tensors)} tensors) to MLX float32")
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        tokenizer, special = build_tokenizer(reader)  # first: an unsupported vocabulary fails fast
        tokenizer.save(str(tmp / "tokenizer.json"))
        weights = dict(convert_tensors(reader, arch, n_head, n_kv, log))
        tied = "lm_head.weight" not in weights
        save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "mlx"})
        tok_config = {k: v for k, v in special.items() if k in ("bos_token", "eos_token", "unk_token", "pad_token",
                                                                "chat_template") and v is not None}
        tok_config.update(tokenizer_class="PreTrainedTokenizerFast", model_max_length=int(
            _field(reader, f"{arch}.context_length", 2048)), add_bos_token=False, clean_up_tokenization_spaces=False)
        (tmp / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2), encoding="utf-8")
        config = _config(reader, arch, tied, special)
        (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        (tmp / "SOURCE").write_text(f"converted from {gguf_path.name}\n", encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"model ready: {out_dir}")
    return out_dir
