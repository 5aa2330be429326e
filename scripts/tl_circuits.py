"""TransformerLens's circuit numbers for a model saved by Residual Explorer, for tests/circuits.rs.

Run once (TransformerLens 4.3 with torch, in any venv):
    python scripts/tl_circuits.py models/induction.safetensors > tests/data/circuits/induction_tl.json

Reads the native safetensors (TransformerLens's names and layouts), folds the norms with
TransformerLens's own `ProcessWeights.fold_layer_norm` (LayerNorm: scaled and centred), then
computes what `TransformerBridge.all_composition_scores` computes (its `FactoredMatrix` and
`utilities.composition_scores`, the mask of later layers) and each head's copying score from
`FactoredMatrix(W_E W_V, W_O W_U).eigenvalues` as sum(λ) / sum(|λ|).
"""
import json
import sys
from types import SimpleNamespace

import torch
from safetensors import safe_open
from transformer_lens.utilities import composition_scores
from transformer_lens.FactoredMatrix import FactoredMatrix
from transformer_lens.weight_processing import ProcessWeights

path = sys.argv[1]
with safe_open(path, "pt") as f:
    config = json.loads(f.metadata()["config"])
    state = {k: f.get_tensor(k).to(torch.float64) for k in f.keys()}

assert config.get("norm", "pre") == "pre" and config.get("norm_kind", "layer_norm") == "layer_norm"
n_layers, n_heads = config["n_layers"], config["n_heads"]
cfg = SimpleNamespace(
    n_layers=n_layers,
    n_heads=n_heads,
    d_model=config["d_model"],
    d_head=config["d_head"],
    d_vocab=config["d_vocab"],
    n_key_value_heads=None,
    normalization_type="LN",
    final_rms=False,
    attn_only=config.get("attn_only", False),
    gated_mlp=False,
    parallel_attn_mlp=False,
    original_architecture=None,
)
if config.get("tied_unembed", True):
    state["unembed.W_U"] = state["embed.W_E"].T.clone()
folded = ProcessWeights.fold_layer_norm(state, cfg, fold_biases=True, center_weights=True)

W_Q = torch.stack([folded[f"blocks.{l}.attn.W_Q"] for l in range(n_layers)])
W_K = torch.stack([folded[f"blocks.{l}.attn.W_K"] for l in range(n_layers)])
W_V = torch.stack([folded[f"blocks.{l}.attn.W_V"] for l in range(n_layers)])
W_O = torch.stack([folded[f"blocks.{l}.attn.W_O"] for l in range(n_layers)])
W_E = folded["embed.W_E"]
W_U = folded["unembed.W_U"]

left = FactoredMatrix(W_V, W_O)
rights = {
    "q": FactoredMatrix(W_Q, W_K.transpose(-2, -1)),
    "k": FactoredMatrix(W_Q, W_K.transpose(-2, -1)).T,
    "v": left,
}
idx = torch.arange(n_layers)
mask = idx[:, None, None, None] < idx[None, None, :, None]
composition = {}
for kind, right in rights.items():
    scores = composition_scores(left, right, broadcast_dims=True)
    scores = torch.where(mask, scores, torch.zeros_like(scores))
    composition[kind] = scores.reshape(n_layers * n_heads, n_layers * n_heads).tolist()

copying = []
for l in range(n_layers):
    row = []
    for h in range(n_heads):
        eig = FactoredMatrix(W_E @ W_V[l, h], W_O[l, h] @ W_U).eigenvalues
        row.append((eig.sum().real / eig.abs().sum()).item())
    copying.append(row)

json.dump(
    {
        "model": path,
        "transformer_lens": __import__("transformer_lens").__version__ if hasattr(__import__("transformer_lens"), "__version__") else "4.3.0",
        "composition": composition,
        "copying": copying,
    },
    sys.stdout,
    indent=1,
)
print()
