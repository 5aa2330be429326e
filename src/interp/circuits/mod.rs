//! Circuits read from the weights alone, after "A Mathematical Framework for Transformer
//! Circuits" (Elhage et al., 2021), with TransformerLens's conventions (row vectors, `x · W`):
//! - each head's QK circuit `W_QK = W_Q W_Kᵀ` and OV circuit `W_OV = W_V W_O`, both
//!   [d_model, d_model] of rank ≤ d_head, kept factored ([`fold::FoldedHeads`]);
//! - Q-, K- and V-composition scores between a head of an earlier layer and one of a later
//!   layer, with the score random matrices of the same shapes give ([`composition`]);
//! - each head's OV copying score, from the eigenvalues of its full OV circuit
//!   `W_E W_OV W_U` ([`copying`]);
//! - for the tokens asked for: the direct path `W_E W_U`, a head's full OV and QK circuits,
//!   and each head's singular values ([`tokens`]).
//!
//! The norm each attention reads through is folded into the heads' matrices first, as
//! TransformerLens's `fold_ln` does ([`fold`]); the final norm into `W_U`. Everything is in f64.
//! Checked against plain products from the definitions and against TransformerLens's
//! `composition_scores` and `FactoredMatrix.eigenvalues` on the shipped induction model
//! (`tests/circuits.rs`, numbers from `scripts/tl_circuits.py`).

pub mod composition;
pub mod copying;
pub mod fold;
pub mod tokens;
pub mod weights;

pub use composition::{CompositionKind, CompositionScores};
pub use copying::copying_scores;
pub use fold::{FoldedHeads, Folding};
pub use weights::{CircuitPart, WeightCircuits};
