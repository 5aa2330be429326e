#!/usr/bin/env python3
"""Makes tests/data/sae/: small SAEs saved by SAELens itself, with SAELens's outputs on a few
inputs, for tests/sae_files.rs to check our encode/decode and loader against.

Each folder holds what `SAE.save_model` writes (cfg.json, sae_weights.safetensors) and
expected.safetensors: `x` [5, d_in], `feature_acts` = sae.encode(x) [5, d_sae] and
`sae_out` = sae.decode(feature_acts) [5, d_in] (for the normalising configs, decode right
after encode, as SAELens's forward does).

    /work/.venv-torch/bin/python scripts/sae_fixture.py [--out tests/data/sae]
    /work/.venv-torch/bin/python scripts/sae_fixture.py --check DIR   # open one of ours

Needs torch, safetensors and sae-lens (pip install sae-lens). Seeded: the same files every run.
"""
import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from sae_lens import (JumpReLUSAE, JumpReLUSAEConfig, SAE, StandardSAE, StandardSAEConfig,
                      TopKSAE, TopKSAEConfig)
from sae_lens.saes.sae import SAEMetadata

D_IN, D_SAE, ROWS = 8, 16, 5


def metadata():
    return SAEMetadata(model_name="default", hook_name="blocks.1.hook_resid_post",
                       context_size=64, prepend_bos=False)


def fill(sae, g, threshold=False, decoder_scale=1.0, bias_shift=0.0):
    with torch.no_grad():
        sae.W_enc.copy_(torch.randn(D_IN, D_SAE, generator=g) * 0.5)
        sae.b_enc.copy_(torch.randn(D_SAE, generator=g) * 0.3 + bias_shift)
        sae.W_dec.copy_(torch.randn(D_SAE, D_IN, generator=g) * 0.4 * decoder_scale)
        sae.b_dec.copy_(torch.randn(D_IN, generator=g) * 0.2)
        if threshold:
            sae.threshold.copy_(torch.rand(D_SAE, generator=g) * 0.6)


def make(out: Path):
    g = torch.Generator().manual_seed(14)
    saes = {
        "standard": StandardSAE(StandardSAEConfig(d_in=D_IN, d_sae=D_SAE, metadata=metadata())),
        "topk": TopKSAE(TopKSAEConfig(d_in=D_IN, d_sae=D_SAE, k=3, metadata=metadata())),
        "topk_rescaled": TopKSAE(TopKSAEConfig(d_in=D_IN, d_sae=D_SAE, k=4,
                                               rescale_acts_by_decoder_norm=True,
                                               metadata=metadata())),
        # b_enc pushed down: some of a row's top k are negative, and the ReLU (applied after
        # choosing) zeroes them.
        "topk_negative": TopKSAE(TopKSAEConfig(d_in=D_IN, d_sae=D_SAE, k=5, metadata=metadata())),
        "jumprelu": JumpReLUSAE(JumpReLUSAEConfig(d_in=D_IN, d_sae=D_SAE, metadata=metadata())),
        "standard_layer_norm": StandardSAE(StandardSAEConfig(
            d_in=D_IN, d_sae=D_SAE, normalize_activations="layer_norm", metadata=metadata())),
        "standard_constant_norm": StandardSAE(StandardSAEConfig(
            d_in=D_IN, d_sae=D_SAE, normalize_activations="constant_norm_rescale",
            apply_b_dec_to_input=False, metadata=metadata())),
    }
    for name, sae in saes.items():
        fill(sae, g, threshold=name == "jumprelu",
             decoder_scale=3.0 if name == "topk_rescaled" else 1.0,
             bias_shift=-3.0 if name == "topk_negative" else 0.0)
        x = torch.randn(ROWS, D_IN, generator=g) * 2.0
        with torch.no_grad():
            acts = sae.encode(x)
            recon = sae.decode(acts)
        folder = out / name
        sae.save_model(folder)
        save_file({"x": x.contiguous(), "feature_acts": acts.contiguous(),
                   "sae_out": recon.contiguous()}, str(folder / "expected.safetensors"))
        # SAELens reads back what it wrote.
        again = SAE.load_from_disk(folder)
        assert torch.allclose(again.encode(x), acts), name
        print(f"{folder}: l0 per row {(acts > 0).sum(1).tolist()}")


def check(folder: Path):
    """Opens an SAE folder written by residual-explorer with SAELens and encodes with it."""
    sae = SAE.load_from_disk(folder)
    print(type(sae).__name__, json.dumps(sae.cfg.to_dict(), default=str)[:400])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, sae.cfg.d_in, generator=g)
    with torch.no_grad():
        acts = sae.encode(x)
        print("l0", (acts > 0).sum(1).tolist(), "recon norm", sae.decode(acts).norm().item())
    return sae


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/sae")
    ap.add_argument("--check")
    a = ap.parse_args()
    if a.check:
        check(Path(a.check))
    else:
        make(Path(a.out))
