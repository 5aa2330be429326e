//! Interventions: a list of patches, each changing one component's output at its named hook
//! site — zero or scale one head's output, one MLP's output or one residual connection, or
//! mean-ablate a head (or an MLP).
//!
//! The list implements [`Intervention`], so it runs through `forward_batch`'s hook sites; the
//! plain forward ([`crate::model::forward`]) never sees it and stays unchanged. A patched
//! activation is recorded in the trace as patched (a zeroed head's `head_result` is zero), so
//! the decomposition, the lens and every view read the intervened model without knowing
//! about interventions.
//!
//! One patch per component: adding a patch for a component that already has one replaces it.

use std::sync::Arc;

use ndarray::{ArrayViewMutD, Axis};

use super::terms::SkipChange;
use crate::model::hooks::{HookSite, Intervention};
use crate::model::{InputError, ModelConfig, Params, Scalar, TokenId, Trace, forward_batch};
use crate::sae::{FeatureEdit, HookPoint, Sae, SaeSplice};

/// A component whose output a patch changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Component {
    /// One head's output `z_h · W_O[h]` (`blocks.{layer}.attn.hook_result[head]`).
    Head {
        /// Block index.
        layer: usize,
        /// Head index.
        head: usize,
    },
    /// Every head of one block (`blocks.{layer}.attn.hook_result`, all heads). The output
    /// bias `b_O`, a constant that does not depend on the input, stays, so the stream
    /// remains the sum of its terms.
    Attn {
        /// Block index.
        layer: usize,
    },
    /// One block's MLP output (`blocks.{layer}.hook_mlp_out`).
    Mlp {
        /// Block index.
        layer: usize,
    },
    /// The residual connection around a block's attention: the skip term `x` in `x + attn`.
    AttnResidual {
        /// Block index.
        layer: usize,
    },
    /// The residual connection around a block's MLP: the skip term `x'` in `x' + mlp`.
    MlpResidual {
        /// Block index.
        layer: usize,
    },
}

impl Component {
    /// The hook site whose activation holds this component's output.
    pub fn site(self) -> HookSite {
        match self {
            Component::Head { layer, .. } | Component::Attn { layer } => {
                HookSite::HeadResult { layer }
            }
            Component::Mlp { layer } => HookSite::MlpOut { layer },
            Component::AttnResidual { layer } => HookSite::AttnSkip { layer },
            Component::MlpResidual { layer } => HookSite::MlpSkip { layer },
        }
    }

    /// Short label: `L0H3`, `L0 attn`, `L1 mlp`, `L2 residual around attn`,
    /// `L2 residual around mlp`.
    pub fn label(self) -> String {
        match self {
            Component::Head { layer, head } => format!("L{layer}H{head}"),
            Component::Attn { layer } => format!("L{layer} attn"),
            Component::Mlp { layer } => format!("L{layer} mlp"),
            Component::AttnResidual { layer } => format!("L{layer} residual around attn"),
            Component::MlpResidual { layer } => format!("L{layer} residual around mlp"),
        }
    }

    /// The block the component belongs to.
    pub fn layer(self) -> usize {
        match self {
            Component::Head { layer, .. }
            | Component::Attn { layer }
            | Component::Mlp { layer }
            | Component::AttnResidual { layer }
            | Component::MlpResidual { layer } => layer,
        }
    }

    /// Checks that the component exists in a model of `config`.
    pub fn check(self, config: &ModelConfig) -> Result<(), String> {
        let layer = self.layer();
        if layer >= config.n_layers {
            return Err(format!(
                "{}: the model has {} layers (0..{})",
                self.label(),
                config.n_layers,
                config.n_layers
            ));
        }
        match self {
            Component::Head { head, .. } if head >= config.n_heads => Err(format!(
                "{}: the model has {} heads per layer",
                self.label(),
                config.n_heads
            )),
            Component::Mlp { .. } | Component::MlpResidual { .. } if config.attn_only => {
                Err(format!("{}: this model's blocks have no MLP", self.label()))
            }
            _ => Ok(()),
        }
    }
}

/// What a patch does to its component's output.
#[derive(Clone, Debug, PartialEq)]
pub enum PatchAction {
    /// Replace the output by zero (ablate it).
    Zero,
    /// Multiply the output by a factor.
    Scale(f32),
    /// Replace the output at every position by its mean over the positions of the current
    /// input (all rows of the batch).
    MeanOverPrompt,
    /// Replace the output at every position by a fixed vector, e.g. the component's mean
    /// over a reference data set ([`reference_mean`]). [d_model]
    ReferenceMean(Arc<Vec<f32>>),
}

/// One component's output changed in one way.
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    /// Whose output.
    pub component: Component,
    /// What happens to it.
    pub action: PatchAction,
}

impl Patch {
    /// Zero `component`'s output.
    pub fn zero(component: Component) -> Self {
        Self {
            component,
            action: PatchAction::Zero,
        }
    }

    /// Multiply `component`'s output by `factor`.
    pub fn scale(component: Component, factor: f32) -> Self {
        Self {
            component,
            action: PatchAction::Scale(factor),
        }
    }

    /// Replace `component`'s output by its mean over the prompt's positions.
    pub fn mean_ablate(component: Component) -> Self {
        Self {
            component,
            action: PatchAction::MeanOverPrompt,
        }
    }

    /// A human-readable label: `zero L0H3`, `scale L1 mlp × 0.5`,
    /// `mean-ablate L0H1 (prompt mean)`, `zero L2 residual around attn`.
    pub fn label(&self) -> String {
        let component = self.component.label();
        match &self.action {
            PatchAction::Zero => format!("zero {component}"),
            PatchAction::Scale(factor) => format!("scale {component} × {factor}"),
            PatchAction::MeanOverPrompt => format!("mean-ablate {component} (prompt mean)"),
            PatchAction::ReferenceMean(_) => format!("mean-ablate {component} (reference mean)"),
        }
    }

    /// Checks the patch against a model: the component exists, a scale is finite, a
    /// reference mean has `d_model` entries.
    pub fn check(&self, config: &ModelConfig) -> Result<(), String> {
        self.component.check(config)?;
        match &self.action {
            PatchAction::Scale(factor) if !factor.is_finite() => Err(format!(
                "{}: the factor must be a finite number",
                self.label()
            )),
            PatchAction::ReferenceMean(_) if matches!(self.component, Component::Attn { .. }) => {
                Err(format!(
                    "{}: a reference mean is for one head or one MLP; ablate the heads one by one",
                    self.component.label()
                ))
            }
            PatchAction::ReferenceMean(mean) if mean.len() != config.d_model => Err(format!(
                "{}: the reference mean has {} entries, the model's d_model is {}",
                self.label(),
                mean.len(),
                config.d_model
            )),
            _ => Ok(()),
        }
    }

    /// Changes the activation of this patch's site (shaped as the site documents).
    fn apply_to<F: Scalar>(&self, mut values: ArrayViewMutD<'_, F>) {
        match self.component {
            // [head, rows, d_model] → this head's [rows, d_model]
            Component::Head { head, .. } if head < values.shape()[0] => {
                self.action.apply(values.index_axis_mut(Axis(0), head))
            }
            Component::Head { .. } => {}
            Component::Attn { .. } => {
                for head_output in values.outer_iter_mut() {
                    self.action.apply(head_output);
                }
            }
            _ => self.action.apply(values),
        }
    }
}

impl PatchAction {
    /// Changes one component's output. `output` [rows, d_model]
    fn apply<F: Scalar>(&self, mut output: ArrayViewMutD<'_, F>) {
        if output.ndim() != 2 {
            return;
        }
        match self {
            PatchAction::Zero => output.fill(F::zero()),
            PatchAction::Scale(factor) => {
                let factor = F::from_f64_lossy(f64::from(*factor));
                output.mapv_inplace(|x| x * factor);
            }
            PatchAction::MeanOverPrompt => {
                let rows = output.shape()[0];
                if rows == 0 {
                    return;
                }
                // [d_model], summed in f64
                let mut mean = vec![0.0f64; output.shape()[1]];
                for row in output.outer_iter() {
                    mean.iter_mut().zip(row).for_each(|(m, x)| *m += x.as_f64());
                }
                for mut row in output.outer_iter_mut() {
                    for (x, m) in row.iter_mut().zip(&mean) {
                        *x = F::from_f64_lossy(m / rows as f64);
                    }
                }
            }
            PatchAction::ReferenceMean(mean) => {
                if output.shape()[1] != mean.len() {
                    return; // refused by `check`; never write a wrong-sized vector
                }
                for mut row in output.outer_iter_mut() {
                    for (x, &m) in row.iter_mut().zip(mean.iter()) {
                        *x = F::from_f64_lossy(f64::from(m));
                    }
                }
            }
        }
    }
}

/// Edits through a sparse autoencoder at its hook (`sae::splice`): reconstruct the stream,
/// ablate a feature, steer along one. Listed after the patches.
#[derive(Clone, Debug)]
pub struct FeatureEdits {
    /// The SAE.
    pub sae: Arc<Sae<f32>>,
    /// Where it reads.
    pub hook: HookPoint,
    /// The edits, in order.
    pub edits: Vec<FeatureEdit>,
}

impl PartialEq for FeatureEdits {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.sae, &other.sae) && self.hook == other.hook && self.edits == other.edits
    }
}

impl FeatureEdits {
    /// The label of edit `edit` in the interventions bar.
    pub fn label(&self, edit: &FeatureEdit) -> String {
        match *edit {
            FeatureEdit::Reconstruct => format!("SAE {}", self.hook.name()),
            FeatureEdit::Ablate { feature } => format!("ablate F{feature}"),
            FeatureEdit::Steer { feature, alpha } => format!("steer F{feature} {alpha:+}"),
        }
    }

    /// Applies the edits at `site` to `values` [rows, d_model], in f32 whatever `F` is.
    fn apply<F: Scalar>(&self, site: HookSite, values: ArrayViewMutD<'_, F>) {
        let Ok(mut values) = values.into_dimensionality::<ndarray::Ix2>() else {
            return;
        };
        let mut as_f32 = values.mapv(|v| v.to_f32().unwrap_or(f32::NAN)).into_dyn();
        let splice = SaeSplice {
            sae: &self.sae,
            site,
            edits: self.edits.clone(),
        };
        splice.apply(site, as_f32.view_mut());
        for (out, &v) in values.iter_mut().zip(as_f32.iter()) {
            *out = F::from_f64_lossy(f64::from(v));
        }
    }
}

/// The active patches, applied in list order at their hook sites, then the feature edits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interventions {
    patches: Vec<Patch>,
    features: Option<(HookSite, FeatureEdits)>,
}

impl Interventions {
    /// No patch: the forward pass is the plain one.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `patch` after checking it against `config`; a patch on the same component is
    /// replaced in place.
    pub fn add(&mut self, patch: Patch, config: &ModelConfig) -> Result<(), String> {
        patch.check(config)?;
        match self
            .patches
            .iter_mut()
            .find(|p| p.component == patch.component)
        {
            Some(existing) => *existing = patch,
            None => self.patches.push(patch),
        }
        Ok(())
    }

    /// Adds `edit` through `sae` reading at `hook` (after checking that it fits `config`);
    /// edits through another SAE are dropped first, and an edit of the same feature (or
    /// the reconstruction again) replaces the earlier one.
    pub fn add_feature_edit(
        &mut self,
        sae: &Arc<Sae<f32>>,
        hook: HookPoint,
        edit: FeatureEdit,
        config: &ModelConfig,
    ) -> Result<(), String> {
        hook.check(config).map_err(|e| e.to_string())?;
        if sae.config.d_in != config.d_model {
            return Err(format!(
                "the SAE reads {} numbers and the stream has {}",
                sae.config.d_in, config.d_model
            ));
        }
        let feature_of = |e: &FeatureEdit| match *e {
            FeatureEdit::Reconstruct => None,
            FeatureEdit::Ablate { feature } | FeatureEdit::Steer { feature, .. } => Some(feature),
        };
        if let Some(feature) = feature_of(&edit)
            && feature >= sae.config.d_sae
        {
            return Err(format!("the SAE has {} features", sae.config.d_sae));
        }
        let site = hook.site(config.n_layers);
        let same_sae = self
            .features
            .as_ref()
            .is_some_and(|(_, f)| Arc::ptr_eq(&f.sae, sae) && f.hook == hook);
        if !same_sae {
            self.features = Some((
                site,
                FeatureEdits {
                    sae: Arc::clone(sae),
                    hook,
                    edits: Vec::new(),
                },
            ));
        }
        let (_, features) = self.features.as_mut().expect("set above");
        let same = |e: &FeatureEdit| {
            std::mem::discriminant(e) == std::mem::discriminant(&edit)
                && feature_of(e) == feature_of(&edit)
        };
        match features.edits.iter_mut().find(|e| same(e)) {
            Some(existing) => *existing = edit,
            None => features.edits.push(edit),
        }
        Ok(())
    }

    /// The feature edits, if any.
    pub fn feature_edits(&self) -> Option<&FeatureEdits> {
        self.features.as_ref().map(|(_, f)| f)
    }

    /// Removes the intervention at `index` of [`Self::labels`] (the patches, then the feature
    /// edits); returns the patch when it was one.
    pub fn remove(&mut self, index: usize) -> Option<Patch> {
        if index < self.patches.len() {
            return Some(self.patches.remove(index));
        }
        if let Some((_, features)) = &mut self.features {
            let edit = index - self.patches.len();
            if edit < features.edits.len() {
                features.edits.remove(edit);
            }
            if features.edits.is_empty() {
                self.features = None;
            }
        }
        None
    }

    /// Removes the patch on `component`, if any; returns it.
    pub fn remove_component(&mut self, component: Component) -> Option<Patch> {
        let index = self.patches.iter().position(|p| p.component == component)?;
        self.remove(index)
    }

    /// Removes every patch and feature edit.
    pub fn clear(&mut self) {
        self.patches.clear();
        self.features = None;
    }

    /// The patches, in the order they are applied.
    pub fn patches(&self) -> &[Patch] {
        &self.patches
    }

    /// The patch on `component`, if any.
    pub fn get(&self, component: Component) -> Option<&Patch> {
        self.patches.iter().find(|p| p.component == component)
    }

    /// The residual connections these patches change (for the decomposition, which then
    /// knows which earlier terms still reach the stream).
    pub fn skip_changes(&self) -> Vec<SkipChange> {
        self.patches
            .iter()
            .filter_map(|patch| {
                let (layer, mlp) = match patch.component {
                    Component::AttnResidual { layer } => (layer, false),
                    Component::MlpResidual { layer } => (layer, true),
                    _ => return None,
                };
                let zeroed = matches!(patch.action, PatchAction::Zero);
                Some(SkipChange { layer, mlp, zeroed })
            })
            .collect()
    }

    /// True when no patch and no feature edit is active.
    pub fn is_empty(&self) -> bool {
        self.patches.is_empty() && self.features.is_none()
    }

    /// Every patch's label, then every feature edit's, in order.
    pub fn labels(&self) -> Vec<String> {
        let features = self
            .feature_edits()
            .into_iter()
            .flat_map(|f| f.edits.iter().map(move |e| f.label(e)));
        self.patches
            .iter()
            .map(Patch::label)
            .chain(features)
            .collect()
    }

    /// Keeps only the patches that fit `config` (after a model change); returns the labels
    /// of those dropped.
    pub fn retain_valid(&mut self, config: &ModelConfig) -> Vec<String> {
        let mut dropped = Vec::new();
        self.patches.retain(|p| {
            let ok = p.check(config).is_ok();
            if !ok {
                dropped.push(p.label());
            }
            ok
        });
        if let Some((site, features)) = &mut self.features {
            let fits =
                features.hook.check(config).is_ok() && features.sae.config.d_in == config.d_model;
            if fits {
                // The last block's `resid_post` is another site in a model of other depth.
                *site = features.hook.site(config.n_layers);
            } else {
                dropped.extend(features.edits.iter().map(|e| features.label(e)));
                self.features = None;
            }
        }
        dropped
    }
}

impl<F: Scalar> Intervention<F> for Interventions {
    /// Only where a patch or the feature edit applies: elsewhere the forward pass need not
    /// copy the skip term (what the default `true` made it do for every residual connection,
    /// an empty list included).
    fn may_change(&self, site: HookSite) -> bool {
        self.patches.iter().any(|p| p.component.site() == site)
            || self.features.as_ref().is_some_and(|(at, _)| *at == site)
    }

    fn apply(&self, site: HookSite, mut values: ArrayViewMutD<'_, F>) {
        for patch in self.patches.iter().filter(|p| p.component.site() == site) {
            patch.apply_to(values.view_mut());
        }
        if let Some((at, features)) = &self.features
            && *at == site
        {
            features.apply(site, values);
        }
    }
}

/// The forward pass of one sequence with `interventions` applied (the plain pass when the
/// list is empty).
pub fn forward_with<F: Scalar>(
    params: &Params<F>,
    tokens: &[TokenId],
    interventions: &Interventions,
) -> Result<Trace<F>, InputError> {
    forward_batch(params, &[tokens], interventions)
}

/// The mean of `component`'s output over every position of `sequences` (a reference data
/// set), for [`PatchAction::ReferenceMean`]. Residual connections' means are of the skip
/// term. [d_model]
pub fn reference_mean(
    params: &Params<f32>,
    sequences: &[&[TokenId]],
    component: Component,
) -> Result<Vec<f32>, String> {
    component.check(&params.config)?;
    let trace = forward_batch(params, sequences, &crate::model::hooks::NoIntervention)
        .map_err(|e| e.to_string())?;
    let layer = &trace.layers[component.layer()];
    let output = match component {
        Component::Head { head, .. } => layer.head_result.index_axis(Axis(0), head).to_owned(),
        Component::Attn { .. } => layer.head_result.sum_axis(Axis(0)),
        Component::Mlp { .. } => layer.mlp.as_ref().expect("checked").out.clone(),
        // The skip term: the stream itself, or zero when the model has no residuals.
        Component::AttnResidual { .. } if params.config.residual => layer.resid_pre.clone(),
        Component::MlpResidual { .. } if params.config.residual => layer.resid_mid.clone(),
        Component::AttnResidual { .. } | Component::MlpResidual { .. } => {
            ndarray::Array2::zeros(layer.resid_pre.raw_dim())
        }
    }; // [rows, d_model]
    let mean = output
        .mean_axis(Axis(0))
        .ok_or("the reference data has no position")?;
    Ok(mean.to_vec())
}
