//! Hook sites: the named places in the forward pass where an intervention may change an
//! activation (TransformerLens's hook points). The plain forward passes [`NoIntervention`],
//! which leaves every activation as it is.

use ndarray::ArrayViewMutD;

/// A place in the forward pass whose activation can be patched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookSite {
    /// `hook_embed`: W_E[tokens]. [rows, d_model]
    Embed,
    /// `hook_pos_embed`: W_pos[positions]. [rows, d_model]
    PosEmbed,
    /// Each head's own output `z_h · W_O[h]` (`hook_result`). [head, rows, d_model]
    HeadResult {
        /// Block index.
        layer: usize,
    },
    /// `hook_attn_out`: the attention sublayer's output. [rows, d_model]
    AttnOut {
        /// Block index.
        layer: usize,
    },
    /// `hook_mlp_out`: the MLP sublayer's output. [rows, d_model]
    MlpOut {
        /// Block index.
        layer: usize,
    },
    /// The skip term added around the attention sublayer (normally `resid_pre`).
    /// [rows, d_model]
    AttnSkip {
        /// Block index.
        layer: usize,
    },
    /// The skip term added around the MLP sublayer (normally `resid_mid`). [rows, d_model]
    MlpSkip {
        /// Block index.
        layer: usize,
    },
    /// `hook_resid_pre`: the stream entering a block. [rows, d_model]
    ResidPre {
        /// Block index.
        layer: usize,
    },
    /// `hook_resid_mid`: the stream between attention and MLP. [rows, d_model]
    ResidMid {
        /// Block index.
        layer: usize,
    },
    /// The stream entering the final norm (the last block's `hook_resid_post`; every other
    /// block's `hook_resid_post` is the next block's [`HookSite::ResidPre`]). [rows, d_model]
    ResidFinal,
}

/// Something that may change activations at hook sites during a forward pass (`Sync`: the
/// pass may run on rayon's threads).
pub trait Intervention<F>: Sync {
    /// Changes `values` (shaped as documented on the site) in place, or leaves them.
    fn apply(&self, site: HookSite, values: ArrayViewMutD<'_, F>);

    /// Whether [`Intervention::apply`] may change the values at `site`. `false` lets the
    /// forward pass skip preparing them (the skip terms are copies made only to be patched).
    fn may_change(&self, _site: HookSite) -> bool {
        true
    }

    /// Whether the pass is still wanted, asked before each block: `false` stops it with
    /// [`InputError::Stopped`](super::InputError::Stopped) (a newer prompt replaced it).
    fn still_wanted(&self) -> bool {
        true
    }
}

/// An intervention that also stops the pass once `still_wanted` says `false` (the trace
/// worker's: a keystroke makes the trace of the previous prompt moot).
pub struct Stoppable<'a, I: ?Sized> {
    /// What is applied at the hook sites.
    pub inner: &'a I,
    /// Asked before each block.
    pub still_wanted: &'a (dyn Fn() -> bool + Sync),
}

impl<F, I: Intervention<F> + ?Sized> Intervention<F> for Stoppable<'_, I> {
    fn apply(&self, site: HookSite, values: ArrayViewMutD<'_, F>) {
        self.inner.apply(site, values);
    }

    fn may_change(&self, site: HookSite) -> bool {
        self.inner.may_change(site)
    }

    fn still_wanted(&self) -> bool {
        (self.still_wanted)() && self.inner.still_wanted()
    }
}

/// The plain forward pass: changes nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoIntervention;

impl<F> Intervention<F> for NoIntervention {
    fn apply(&self, _site: HookSite, _values: ArrayViewMutD<'_, F>) {}

    fn may_change(&self, _site: HookSite) -> bool {
        false
    }
}
