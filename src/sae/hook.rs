//! Where an SAE reads the model: a TransformerLens hook name (`blocks.2.hook_resid_post`),
//! the activation it names in a [`Trace`], and the [`HookSite`] where a forward pass can
//! replace that activation. `hook_resid_post` of block L is the stream that enters block
//! L + 1 (`hook_resid_pre`), and for the last block the stream that enters the final norm
//! ([`HookSite::ResidFinal`]): the same values, so the same site.

use ndarray::ArrayView2;

use crate::model::config::{ModelConfig, NormPlacement};
use crate::model::hooks::HookSite;
use crate::model::{Scalar, Trace};

/// Which activation of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookKind {
    /// `hook_resid_pre`.
    ResidPre,
    /// `hook_resid_mid`.
    ResidMid,
    /// `hook_resid_post`.
    ResidPost,
    /// `hook_attn_out`.
    AttnOut,
    /// `hook_mlp_out`.
    MlpOut,
}

impl HookKind {
    /// Every kind with its TransformerLens suffix.
    pub const ALL: [(HookKind, &'static str); 5] = [
        (HookKind::ResidPre, "hook_resid_pre"),
        (HookKind::ResidMid, "hook_resid_mid"),
        (HookKind::ResidPost, "hook_resid_post"),
        (HookKind::AttnOut, "hook_attn_out"),
        (HookKind::MlpOut, "hook_mlp_out"),
    ];

    fn suffix(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, s)| s)
    }
}

/// A hook point an SAE can read: a block and an activation of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HookPoint {
    /// Block index.
    pub layer: usize,
    /// Which activation.
    pub kind: HookKind,
}

/// A hook that does not exist, or not in this model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HookError {
    /// Not a name this program knows.
    #[error(
        "\"{0}\" is not a hook an SAE can read here: use blocks.L.hook_resid_pre, \
         hook_resid_mid, hook_resid_post, hook_attn_out or hook_mlp_out"
    )]
    Unknown(String),
    /// The block does not exist.
    #[error("{name}: this model has {n_layers} blocks (0..{n_layers})")]
    NoSuchLayer {
        /// The hook's name.
        name: String,
        /// Blocks in the model.
        n_layers: usize,
    },
    /// The model has no such activation.
    #[error("{name}: {why}")]
    Absent {
        /// The hook's name.
        name: String,
        /// Why the model lacks it.
        why: &'static str,
    },
}

impl HookPoint {
    /// Parses `blocks.{L}.hook_{…}`.
    pub fn parse(name: &str) -> Result<Self, HookError> {
        let unknown = || HookError::Unknown(name.to_string());
        let rest = name.trim().strip_prefix("blocks.").ok_or_else(unknown)?;
        let (layer, suffix) = rest.split_once('.').ok_or_else(unknown)?;
        let layer = layer.parse().map_err(|_| unknown())?;
        let kind = HookKind::ALL
            .iter()
            .find(|(_, s)| *s == suffix)
            .map(|(k, _)| *k)
            .ok_or_else(unknown)?;
        Ok(Self { layer, kind })
    }

    /// The TransformerLens name.
    pub fn name(&self) -> String {
        format!("blocks.{}.{}", self.layer, self.kind.suffix())
    }

    /// Checks that `config`'s model has this activation.
    pub fn check(&self, config: &ModelConfig) -> Result<(), HookError> {
        if self.layer >= config.n_layers {
            return Err(HookError::NoSuchLayer {
                name: self.name(),
                n_layers: config.n_layers,
            });
        }
        let why = match self.kind {
            HookKind::ResidMid if config.norm == NormPlacement::Parallel => {
                Some("a parallel block has no stream between attention and the MLP")
            }
            HookKind::MlpOut if config.attn_only => Some("the model's blocks have no MLP"),
            _ => None,
        };
        match why {
            Some(why) => Err(HookError::Absent {
                name: self.name(),
                why,
            }),
            None => Ok(()),
        }
    }

    /// The activation in `trace` (checked by [`HookPoint::check`]). [rows, d_model]
    pub fn read<'t, F: Scalar>(&self, trace: &'t Trace<F>) -> Option<ArrayView2<'t, F>> {
        let layer = trace.layers.get(self.layer)?;
        Some(match self.kind {
            HookKind::ResidPre => layer.resid_pre.view(),
            HookKind::ResidMid => layer.resid_mid.view(),
            HookKind::ResidPost => layer.resid_post.view(),
            HookKind::AttnOut => layer.attn_out.view(),
            HookKind::MlpOut => layer.mlp.as_ref()?.out.view(),
        })
    }

    /// Where a forward pass of a model with `n_layers` blocks can replace the activation.
    pub fn site(&self, n_layers: usize) -> HookSite {
        let layer = self.layer;
        match self.kind {
            HookKind::ResidPre => HookSite::ResidPre { layer },
            HookKind::ResidMid => HookSite::ResidMid { layer },
            HookKind::AttnOut => HookSite::AttnOut { layer },
            HookKind::MlpOut => HookSite::MlpOut { layer },
            HookKind::ResidPost if layer + 1 < n_layers => HookSite::ResidPre { layer: layer + 1 },
            HookKind::ResidPost => HookSite::ResidFinal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for name in [
            "blocks.0.hook_resid_pre",
            "blocks.2.hook_resid_post",
            "blocks.11.hook_mlp_out",
            "blocks.3.hook_attn_out",
            "blocks.1.hook_resid_mid",
        ] {
            assert_eq!(HookPoint::parse(name).unwrap().name(), name);
        }
        for bad in [
            "blocks.x.hook_resid_pre",
            "hook_embed",
            "blocks.1.hook_q",
            "blocks.1",
        ] {
            assert!(HookPoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resid_post_is_the_next_block_s_input_or_the_final_stream() {
        let post = |layer| HookPoint {
            layer,
            kind: HookKind::ResidPost,
        };
        assert_eq!(post(1).site(4), HookSite::ResidPre { layer: 2 });
        assert_eq!(post(3).site(4), HookSite::ResidFinal);
    }
}
