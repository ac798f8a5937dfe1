"""The two text tokenizers SD's text encoder is fed with, both offline: open_clip's shipped BPE
vocabulary (random-weight profiles) and a transformers tokenizer from a local folder (real)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch


class OpenClipTokenizer:
    """SD 2.x's tokenizer (OpenCLIP BPE, 77 tokens, pad id 0 = '!') from open_clip's shipped
    vocabulary — works offline, unlike ``CLIPTokenizer.from_pretrained(<hub id>)``."""

    def __init__(self, context_length: int = 77) -> None:
        from open_clip.tokenizer import SimpleTokenizer

        self._tok = SimpleTokenizer(context_length=context_length)
        self.context_length = context_length

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        return self._tok(list(prompts), context_length=self.context_length).long()


class HFTokenizer:
    """A transformers CLIPTokenizer loaded from a *local* folder, padded to 77 tokens."""

    def __init__(self, folder: Path) -> None:
        from transformers import CLIPTokenizer

        tok = CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)
        if len(tok) < 49408:
            raise ValueError(
                f"{folder}: tokenizer has {len(tok)} tokens, expected 49408 (broken or partial files)"
            )
        self._tok = tok

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        out = self._tok(
            list(prompts),
            padding="max_length",
            max_length=self._tok.model_max_length,
            truncation=True,
            return_tensors="pt",
        )
        return out.input_ids


def write_clip_tokenizer(folder: Path) -> Path:
    """Write SD 2.x's tokenizer as transformers' CLIPTokenizer files (vocab.json, merges.txt,
    tokenizer_config.json) from open_clip's shipped BPE vocabulary, offline. ``HFTokenizer`` on
    the folder gives the ids of :class:`OpenClipTokenizer`."""
    import json

    from artic3d_core.atomic import atomic_write_text

    tok = OpenClipTokenizer()._tok
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # the HF files name the special tokens <|startoftext|> / <|endoftext|> (ids 49406 / 49407)
    rename = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    vocab = {rename.get(k, k): v for k, v in tok.encoder.items()}
    atomic_write_text(folder / "vocab.json", json.dumps(vocab))
    merges = sorted(tok.bpe_ranks, key=tok.bpe_ranks.get)
    atomic_write_text(
        folder / "merges.txt", "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n"
    )
    config = {"model_max_length": 77, "pad_token": "!", "tokenizer_class": "CLIPTokenizer"}
    atomic_write_text(folder / "tokenizer_config.json", json.dumps(config))
    return folder
