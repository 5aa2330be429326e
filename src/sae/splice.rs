//! Putting an SAE into the forward pass: an [`Intervention`] that, at the SAE's hook site,
//! replaces the activation by its reconstruction, removes features' decoder contributions
//! (ablation), or adds a multiple of a feature's decoder direction (steering).
//!
//! Ablating feature j at a position where its activation is a_j subtracts exactly
//! `a_j · W_dec[j]` (the term it adds to the reconstruction) from the stream, and leaves the
//! SAE's error term in place: `x − a_j W_dec[j] = (x̂ − a_j W_dec[j]) + (x − x̂)`.

use ndarray::{ArrayViewMutD, Ix2};

use super::model::Sae;
use crate::model::hooks::{HookSite, Intervention};

/// One change an [`SaeSplice`] makes at its site.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FeatureEdit {
    /// Replace the activation by the SAE's reconstruction.
    Reconstruct,
    /// Remove this feature's decoder contribution at every position.
    Ablate {
        /// Feature index.
        feature: usize,
    },
    /// Add `alpha` × this feature's unit decoder direction at every position.
    Steer {
        /// Feature index.
        feature: usize,
        /// How far along the unit direction, in the activation's own units.
        alpha: f32,
    },
}

/// An SAE applied at one site of the forward pass.
pub struct SaeSplice<'a> {
    /// The SAE.
    pub sae: &'a Sae<f32>,
    /// Where it reads and writes (from [`super::hook::HookPoint::site`]).
    pub site: HookSite,
    /// What it does there, in order.
    pub edits: Vec<FeatureEdit>,
}

impl Intervention<f32> for SaeSplice<'_> {
    fn apply(&self, site: HookSite, values: ArrayViewMutD<'_, f32>) {
        if site != self.site || self.edits.is_empty() {
            return;
        }
        let Ok(mut values) = values.into_dimensionality::<Ix2>() else {
            return;
        };
        if values.ncols() != self.sae.config.d_in {
            return;
        }
        let needs_codes = self
            .edits
            .iter()
            .any(|e| !matches!(e, FeatureEdit::Steer { .. }));
        let (codes, recon) = if needs_codes {
            let (codes, recon) = self.sae.encode_decode(values.view());
            (Some(codes), Some(recon))
        } else {
            (None, None)
        };
        for edit in &self.edits {
            match *edit {
                FeatureEdit::Reconstruct => {
                    if let Some(recon) = &recon {
                        values.assign(recon);
                    }
                }
                FeatureEdit::Ablate { feature } if feature < self.sae.config.d_sae => {
                    if let Some(codes) = &codes {
                        for (mut row, &a) in values.outer_iter_mut().zip(codes.column(feature)) {
                            if a != 0.0 {
                                row -= &self.sae.contribution(feature, a);
                            }
                        }
                    }
                }
                FeatureEdit::Steer { feature, alpha } if feature < self.sae.config.d_sae => {
                    let direction = self.sae.w_dec.row(feature);
                    let norm = super::model::norm(direction);
                    if norm > 0.0 {
                        for mut row in values.outer_iter_mut() {
                            row.scaled_add(alpha / norm, &direction);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn may_change(&self, site: HookSite) -> bool {
        site == self.site
    }
}
