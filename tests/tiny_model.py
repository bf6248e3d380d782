"""A tiny random sparse-MoE model for the drafting tests: mlx-lm's own `qwen3_moe` class.

2 layers, hidden size 64, 4 experts (2 per token), and a byte-level BPE tokenizer trained with
`tokenizers` on a few sentences, with a ChatML chat template. Built in a temp dir in about a second;
it generates ~1,000 tokens/s on a CPU, so the real MLX path (loading, batching, caps, the server)
runs in the tests without a model hub.
"""

from __future__ import annotations

import json
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "The books closed 24 round-trips this week with a win rate of 50.0%.",
    "Execution slippage was the largest cluster of losing trades.",
    "Realized PnL was -0.70 USDT; the inverted book ended at +0.85 USDT.",
    "Cut position size and tighten the stop loss on APT/USDT.",
    "One operating insight: trust the quiet tape, and keep publishing the real numbers.",
]


def build_tiny_model(path: Path, seed: int = 0) -> Path:
    """Write config, random weights and tokenizer for the tiny model into `path`."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models import qwen3_moe
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    path.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    tok.save(str(path / "tokenizer.json"))
    vocab = tok.get_vocab_size()

    config = {
        "model_type": "qwen3_moe", "hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "num_experts": 4,
        "num_experts_per_tok": 2, "decoder_sparse_step": 1, "mlp_only_layers": [], "moe_intermediate_size": 32,
        "rms_norm_eps": 1e-6, "vocab_size": vocab, "rope_theta": 10000.0, "tie_word_embeddings": False,
        "max_position_embeddings": 2048, "norm_topk_prob": True,
        "eos_token_id": [tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")],
    }
    (path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": CHAT_TEMPLATE,
        "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
    }), encoding="utf-8")
    mx.random.seed(seed)
    model = qwen3_moe.Model(qwen3_moe.ModelArgs.from_dict(config))
    weights = dict(tree_flatten(model.parameters()))
    mx.eval(weights)
    mx.save_safetensors(str(path / "model.safetensors"), weights)
    return path
