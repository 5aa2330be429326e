#!/usr/bin/env python3
"""Builds tests/data/gpt2-bpe/: GPT-2's real BPE vocabulary as vocab.json + merges.txt, and
reference encodings made by tiktoken, OpenAI's own tokenizer library.

The vocabulary comes from `whisper/assets/gpt2.tiktoken` in the openai-whisper package on
PyPI (the 50,256 GPT-2 byte-level BPE ranks; `<|endoftext|>` is 50256). tiktoken files give
each token's rank; Hugging Face's files give the merges. Byte-level BPE learned its tokens in
rank order, so the merge that made a token is found by running BPE on its bytes with only
the lower ranks: what is left is the two halves of that merge.

Run (any Python with tiktoken; no network beyond PyPI):
    pip download openai-whisper --no-deps && tar xzf openai_whisper-*.tar.gz
    pip install tiktoken
    python3 scripts/make_gpt2_bpe_fixture.py openai_whisper-*/whisper/assets/gpt2.tiktoken
"""

import base64
import json
import sys
from pathlib import Path

import tiktoken

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "gpt2-bpe"

# GPT-2's pre-tokenizer pattern (tiktoken's r50k_base).
PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# Texts that exercise the pre-tokenizer and the merges: contractions, digits, punctuation runs,
# runs of spaces and newlines, accents, CJK, emoji (multi-byte tokens), code.
TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer",
    "I'm sure they'll say it's what we'd've done, isn't it? You're RIGHT, they've said.",
    "Numbers: 3.14159, 2026-11-27, 1,000,000 and 0x7fff; 12345678901234567890.",
    "    indented code:\n\tif (x != y) { return a->b[3] * 2; }\n\n\n   trailing   ",
    "Ça va? Über naïve café façade — résumé «quoted» déjà vu.",
    "日本語のテキストと中文文本，한국어도 있어요。",
    "Emoji: 🙂👍🏽 🇧🇷 and symbols ∑∫√∞ ≠ ≤ ≥ ± × ÷ € £ ¥",
    "a  b   c    d\r\ne\u00a0f\u2003g",
    "!!!???...,,,;;;:::---___===+++***&&&^^^%%%$$$###@@@",
    "https://example.com/path?query=1&other=two#anchor <tag attr=\"v\">text</tag>",
    "residual stream x' = x + attn(ln1(x)), x'' = x' + mlp(ln2(x'))",
    "",
    " ",
    "\n",
]


def load_ranks(path):
    ranks = {}
    for line in Path(path).read_text().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def bytes_to_unicode():
    """GPT-2's printable stand-in for every byte (as in Hugging Face's tokenizers)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


def split_by_lower_ranks(token, ranks, max_rank):
    """BPE on `token`'s bytes with only the merges ranked below `max_rank`."""
    parts = [bytes([b]) for b in token]
    while True:
        best = None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < max_rank and (best is None or rank < best[0]):
                best = (rank, i)
        if best is None:
            return parts
        i = best[1]
        parts[i : i + 2] = [parts[i] + parts[i + 1]]


def main():
    ranks = load_ranks(sys.argv[1])
    assert len(ranks) == 50256, len(ranks)
    to_char = bytes_to_unicode()
    show = lambda token: "".join(to_char[b] for b in token)
    vocab = {show(token): rank for token, rank in ranks.items()}
    vocab["<|endoftext|>"] = 50256
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) < 2:
            continue
        parts = split_by_lower_ranks(token, ranks, rank)
        assert len(parts) == 2, (token, parts)
        merges.append(f"{show(parts[0])} {show(parts[1])}")

    encoding = tiktoken.Encoding(
        "gpt2-from-whisper",
        pat_str=PATTERN,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
    )
    cases = [{"text": text, "ids": encoding.encode_ordinary(text)} for text in TEXTS]

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (OUT / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    (OUT / "encodings.json").write_text(
        json.dumps({"tiktoken": tiktoken.__version__, "cases": cases}, ensure_ascii=False, indent=1)
    )
    print(f"{len(vocab)} tokens, {len(merges)} merges, {len(cases)} texts -> {OUT}")


if __name__ == "__main__":
    main()
