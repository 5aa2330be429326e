//! The `state` block of a lesson step: which view, stage, token, layer, head, interventions,
//! training run, and editor the step sets, parsed from `key: value` lines.
//!
//! Parsing here checks syntax only (a view name that exists, a number that is a number); the
//! checker compares the values with the lesson's model (layers, heads, stages, token count).

use std::collections::BTreeMap;

use crate::interp::circuits::CompositionKind;
use crate::interp::interventions::{Component, Patch};
use crate::view_kind::ViewKind;

/// Line (1-based) of each key, by key name.
pub type KeyLines = BTreeMap<String, usize>;

/// A token position: a 0-based index or the last token of the prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenPos {
    /// Position `i` (0-based).
    Index(usize),
    /// The prompt's last token, wherever it is.
    Last,
}

impl std::fmt::Display for TokenPos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenPos::Index(i) => write!(f, "{i}"),
            TokenPos::Last => f.write_str("last"),
        }
    }
}

impl TokenPos {
    /// The position in a prompt of `n_tokens` tokens, if it is inside.
    pub fn resolve(self, n_tokens: usize) -> Option<usize> {
        match self {
            TokenPos::Index(i) => (i < n_tokens).then_some(i),
            TokenPos::Last => n_tokens.checked_sub(1),
        }
    }
}

/// A sublayer of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sublayer {
    /// The attention sublayer.
    Attn,
    /// The MLP sublayer.
    Mlp,
}

impl Sublayer {
    /// `attn` or `mlp`.
    pub fn key(self) -> &'static str {
        match self {
            Sublayer::Attn => "attn",
            Sublayer::Mlp => "mlp",
        }
    }
}

/// An intervention a step switches on (the list replaces the previous one).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LessonIntervention {
    /// `zero L1H3`: remove one head's output.
    ZeroHead {
        /// Block index.
        layer: usize,
        /// Head index.
        head: usize,
    },
    /// `scale L1H3 0.5`: multiply one head's output.
    ScaleHead {
        /// Block index.
        layer: usize,
        /// Head index.
        head: usize,
        /// The factor.
        factor: f32,
    },
    /// `mean L1H3`: replace one head's output by its mean over positions.
    MeanHead {
        /// Block index.
        layer: usize,
        /// Head index.
        head: usize,
    },
    /// `zero L0 mlp` / `zero L0 attn`: remove a whole sublayer's output (for attention, every
    /// head's output; the constant bias `b_O` stays).
    ZeroSublayer {
        /// Block index.
        layer: usize,
        /// Which sublayer.
        sublayer: Sublayer,
    },
    /// `cut L0 attn` / `cut L0 mlp`: remove the residual connection around a sublayer.
    CutResidual {
        /// Block index.
        layer: usize,
        /// Which sublayer's skip connection.
        sublayer: Sublayer,
    },
}

impl LessonIntervention {
    /// The explorer's patch that carries this intervention out.
    pub fn to_patch(&self) -> Patch {
        let sublayer_component = |layer, sublayer| match sublayer {
            Sublayer::Attn => Component::Attn { layer },
            Sublayer::Mlp => Component::Mlp { layer },
        };
        match *self {
            LessonIntervention::ZeroHead { layer, head } => {
                Patch::zero(Component::Head { layer, head })
            }
            LessonIntervention::ScaleHead {
                layer,
                head,
                factor,
            } => Patch::scale(Component::Head { layer, head }, factor),
            LessonIntervention::MeanHead { layer, head } => {
                Patch::mean_ablate(Component::Head { layer, head })
            }
            LessonIntervention::ZeroSublayer { layer, sublayer } => {
                Patch::zero(sublayer_component(layer, sublayer))
            }
            LessonIntervention::CutResidual { layer, sublayer } => Patch::zero(match sublayer {
                Sublayer::Attn => Component::AttnResidual { layer },
                Sublayer::Mlp => Component::MlpResidual { layer },
            }),
        }
    }
}

/// A training run a step sets up in the training panel.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingRun {
    /// The model preset (`lesson`, `induction`, `seed-block`, …).
    pub preset: String,
    /// The data: `shakespeare`, `task:NAME` or `file:PATH`.
    pub data: Option<String>,
    /// Number of optimisation steps.
    pub steps: Option<u64>,
    /// Learning rate.
    pub lr: Option<f64>,
    /// Sequences per batch.
    pub batch: Option<usize>,
    /// Tokens per sequence.
    pub seq: Option<usize>,
    /// Seed.
    pub seed: Option<u64>,
    /// Residual connections on or off for this run (`None`: the preset's own).
    pub residual: Option<bool>,
    /// Run twice, residual connections on and off, and plot both (Lemma 2.2).
    pub compare_residual: bool,
    /// Start at once when the step opens (otherwise the student presses Start).
    pub start: bool,
}

/// An editing widget a step shows in the lesson panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Editor {
    /// `editor: additions`: drag values for what each sublayer adds (the output biases
    /// `b_O` and `b_out` of a model whose `W_O` and `W_out` are zero).
    Additions,
}

/// What a step sets. `None` leaves the previous value; see [`crate::lesson::Lesson::state_at`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepState {
    /// The open view.
    pub view: Option<ViewKind>,
    /// The stage slider, as a stage's short label (`L0 +attn`).
    pub stage: Option<String>,
    /// The selected token.
    pub token: Option<TokenPos>,
    /// The selected layer (attention view, contributions).
    pub layer: Option<usize>,
    /// The selected head.
    pub head: Option<usize>,
    /// A new prompt.
    pub prompt: Option<String>,
    /// A token of interest (direct logit attribution, logit lens highlight), as its text.
    pub target: Option<String>,
    /// The active interventions (`Some(empty)` clears them).
    pub interventions: Option<Vec<LessonIntervention>>,
    /// A training run to set up.
    pub training: Option<TrainingRun>,
    /// An editor to show (`Some(None)` hides it).
    pub editor: Option<Option<Editor>>,
    /// The composition the Circuits view maps.
    pub composition: Option<CompositionKind>,
    /// An SAE folder under `models/` to open in the Features view.
    pub sae: Option<String>,
    /// The feature the Features view details.
    pub feature: Option<usize>,
    /// What this step's text says the screen shows (checked by `lesson check`; not carried
    /// over to later steps).
    pub expect: Vec<super::expect::Expectation>,
}

/// Every key a `state` block may use.
pub const KEYS: [&str; 14] = [
    "view",
    "stage",
    "token",
    "layer",
    "head",
    "prompt",
    "target",
    "interventions",
    "training",
    "editor",
    "composition",
    "sae",
    "feature",
    "expect",
];

impl StepState {
    /// Applies `later` on top of `self`: every key `later` names replaces this one.
    pub fn merge(&mut self, later: &StepState) {
        fn take<T: Clone>(slot: &mut Option<T>, later: &Option<T>) {
            if let Some(value) = later {
                *slot = Some(value.clone());
            }
        }
        take(&mut self.view, &later.view);
        take(&mut self.stage, &later.stage);
        take(&mut self.token, &later.token);
        take(&mut self.layer, &later.layer);
        take(&mut self.head, &later.head);
        take(&mut self.prompt, &later.prompt);
        take(&mut self.target, &later.target);
        take(&mut self.interventions, &later.interventions);
        take(&mut self.training, &later.training);
        take(&mut self.editor, &later.editor);
        take(&mut self.composition, &later.composition);
        take(&mut self.sae, &later.sae);
        take(&mut self.feature, &later.feature);
        // Expectations belong to the step that states them.
        self.expect.clone_from(&later.expect);
    }

    /// Sets one key from its text. Errors are a sentence saying what is wrong.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "view" => {
                self.view = Some(ViewKind::from_slug(value).ok_or_else(|| {
                    format!("unknown view {value:?}; the views are {}", view_list())
                })?)
            }
            "stage" => self.stage = Some(parse_stage_label(value)?),
            "token" => {
                self.token = Some(match value {
                    "last" => TokenPos::Last,
                    _ => TokenPos::Index(parse_index("token", value)?),
                })
            }
            "layer" => self.layer = Some(parse_index("layer", value)?),
            "head" => self.head = Some(parse_index("head", value)?),
            "prompt" => {
                if value.is_empty() {
                    return Err("the prompt is empty".into());
                }
                self.prompt = Some(value.to_string())
            }
            "target" => {
                if value.is_empty() {
                    return Err("the target token is empty".into());
                }
                self.target = Some(value.to_string())
            }
            "interventions" => self.interventions = Some(parse_interventions(value)?),
            "training" => self.training = Some(parse_training(value)?),
            "editor" => {
                self.editor = Some(match value {
                    "additions" => Some(Editor::Additions),
                    "none" => None,
                    _ => return Err(format!("unknown editor {value:?}; use additions or none")),
                })
            }
            "composition" => {
                self.composition = Some(
                    CompositionKind::ALL
                        .into_iter()
                        .find(|kind| kind.key() == value)
                        .ok_or_else(|| format!("unknown composition {value:?}; use q, k or v"))?,
                )
            }
            "sae" => {
                let inside = value.starts_with("models/")
                    && !value.split('/').any(|part| part.is_empty() || part == "..");
                if !inside {
                    return Err(format!(
                        "sae must be a folder under models/ (models/NAME), not {value:?}"
                    ));
                }
                self.sae = Some(value.to_string())
            }
            "feature" => self.feature = Some(parse_index("feature", value)?),
            "expect" => self.expect = super::expect::parse_expectations(value)?,
            _ => {
                return Err(format!(
                    "unknown state key {key:?}; the keys are {}",
                    KEYS.join(", ")
                ));
            }
        }
        Ok(())
    }
}

fn view_list() -> String {
    ViewKind::ALL.map(ViewKind::slug).join(", ")
}

fn parse_index(what: &str, value: &str) -> Result<usize, String> {
    value
        .parse::<usize>()
        .ok()
        .filter(|&n| n < 1 << 20)
        .ok_or_else(|| format!("{what} must be a whole number (0, 1, 2, …), not {value:?}"))
}

/// Checks the shape of a stage label (`embed`, `L0 +attn`, `ln_final`, …); whether the model
/// has that stage is the checker's business.
pub(crate) fn parse_stage_label(value: &str) -> Result<String, String> {
    let fixed = ["embed", "ln_final", "logits"];
    if fixed.contains(&value) {
        return Ok(value.to_string());
    }
    let parts: Vec<&str> = value.split(' ').collect();
    let ok = match parts.as_slice() {
        [layer, part] => {
            parse_layer_tag(layer).is_some()
                && ["ln1", "attn", "+attn", "ln2", "mlp", "+mlp"].contains(part)
        }
        _ => false,
    };
    if ok {
        Ok(value.to_string())
    } else {
        Err(format!(
            "{value:?} is not a stage; write embed, L<n> ln1, L<n> attn, L<n> +attn, L<n> ln2, \
             L<n> mlp, L<n> +mlp, ln_final or logits (as on the stage slider)"
        ))
    }
}

/// `L3` → 3.
fn parse_layer_tag(text: &str) -> Option<usize> {
    let digits = text.strip_prefix('L')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<usize>().ok().filter(|&n| n < 1 << 20)
}

/// `L1H3` → (1, 3).
fn parse_head_tag(text: &str) -> Option<(usize, usize)> {
    let rest = text.strip_prefix('L')?;
    let (layer, head) = rest.split_once('H')?;
    let layer = parse_layer_tag(&format!("L{layer}"))?;
    let head = parse_layer_tag(&format!("L{head}"))?;
    Some((layer, head))
}

fn parse_sublayer(text: &str) -> Option<Sublayer> {
    match text {
        "attn" => Some(Sublayer::Attn),
        "mlp" => Some(Sublayer::Mlp),
        _ => None,
    }
}

/// `none`, or a comma-separated list of `zero L1H3`, `scale L1H3 0.5`, `mean L1H3`,
/// `zero L0 mlp`, `zero L0 attn`, `cut L0 attn`, `cut L0 mlp`.
pub fn parse_interventions(value: &str) -> Result<Vec<LessonIntervention>, String> {
    if value == "none" {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(str::trim)
        .map(|item| parse_intervention(item).ok_or_else(|| bad_intervention(item)))
        .collect()
}

fn bad_intervention(item: &str) -> String {
    format!(
        "{item:?} is not an intervention; write zero L1H3, scale L1H3 0.5, mean L1H3, \
         zero L0 mlp, zero L0 attn, cut L0 attn, cut L0 mlp, or none"
    )
}

fn parse_intervention(item: &str) -> Option<LessonIntervention> {
    let words: Vec<&str> = item.split_whitespace().collect();
    match words.as_slice() {
        ["zero", tag] => {
            let (layer, head) = parse_head_tag(tag)?;
            Some(LessonIntervention::ZeroHead { layer, head })
        }
        ["mean", tag] => {
            let (layer, head) = parse_head_tag(tag)?;
            Some(LessonIntervention::MeanHead { layer, head })
        }
        ["scale", tag, factor] => {
            let (layer, head) = parse_head_tag(tag)?;
            let factor = factor.parse::<f32>().ok().filter(|f| f.is_finite())?;
            Some(LessonIntervention::ScaleHead {
                layer,
                head,
                factor,
            })
        }
        ["zero", tag, sub] => Some(LessonIntervention::ZeroSublayer {
            layer: parse_layer_tag(tag)?,
            sublayer: parse_sublayer(sub)?,
        }),
        ["cut", tag, sub] => Some(LessonIntervention::CutResidual {
            layer: parse_layer_tag(tag)?,
            sublayer: parse_sublayer(sub)?,
        }),
        _ => None,
    }
}

/// `preset=NAME [data=…] [steps=N] [lr=X] [batch=N] [seq=N] [seed=N] [residual=on|off]
/// [compare=residual] [start]`.
pub fn parse_training(value: &str) -> Result<TrainingRun, String> {
    let mut run = TrainingRun {
        preset: String::new(),
        data: None,
        steps: None,
        lr: None,
        batch: None,
        seq: None,
        seed: None,
        residual: None,
        compare_residual: false,
        start: false,
    };
    let number_error = |key: &str, text: &str| format!("training {key}={text:?} is not a number");
    for word in value.split_whitespace() {
        let (key, text) = word.split_once('=').unwrap_or((word, ""));
        match (key, text) {
            ("start", "") => run.start = true,
            ("preset", name) if !name.is_empty() => run.preset = name.to_string(),
            ("data", data) if !data.is_empty() => {
                let known = data == "shakespeare"
                    || data.strip_prefix("task:").is_some_and(|t| !t.is_empty())
                    || data.strip_prefix("file:").is_some_and(|t| !t.is_empty());
                if !known {
                    return Err(format!(
                        "training data={data:?}: write shakespeare, task:NAME or file:PATH"
                    ));
                }
                run.data = Some(data.to_string())
            }
            ("steps", n) => run.steps = Some(n.parse().map_err(|_| number_error(key, n))?),
            ("lr", x) => {
                let lr: f64 = x.parse().map_err(|_| number_error(key, x))?;
                if !(lr.is_finite() && lr > 0.0) {
                    return Err(format!("training lr={x} must be a positive number"));
                }
                run.lr = Some(lr)
            }
            ("batch", n) => run.batch = Some(n.parse().map_err(|_| number_error(key, n))?),
            ("seq", n) => run.seq = Some(n.parse().map_err(|_| number_error(key, n))?),
            ("seed", n) => run.seed = Some(n.parse().map_err(|_| number_error(key, n))?),
            ("residual", "on") => run.residual = Some(true),
            ("residual", "off") => run.residual = Some(false),
            ("compare", "residual") => run.compare_residual = true,
            _ => {
                return Err(format!(
                    "training: {word:?} is not understood; write preset=NAME and any of \
                     data=, steps=, lr=, batch=, seq=, seed=, residual=on|off, \
                     compare=residual, start"
                ));
            }
        }
    }
    if run.preset.is_empty() {
        return Err("training needs preset=NAME".into());
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_merge() {
        let mut first = StepState::default();
        first.set("view", "residual").unwrap();
        first.set("stage", "L0 +attn").unwrap();
        first.set("token", "last").unwrap();
        let mut second = StepState::default();
        second.set("stage", "L1 +mlp").unwrap();
        second
            .set("interventions", "zero L1H3, cut L0 mlp")
            .unwrap();
        first.merge(&second);
        assert_eq!(first.view, Some(ViewKind::Residual));
        assert_eq!(first.stage.as_deref(), Some("L1 +mlp"));
        assert_eq!(first.token, Some(TokenPos::Last));
        assert_eq!(
            first.interventions,
            Some(vec![
                LessonIntervention::ZeroHead { layer: 1, head: 3 },
                LessonIntervention::CutResidual {
                    layer: 0,
                    sublayer: Sublayer::Mlp
                }
            ])
        );
    }

    #[test]
    fn bad_values_say_what_is_allowed() {
        let mut state = StepState::default();
        let err = state.set("view", "residuals").unwrap_err();
        assert!(err.contains("logit_lens"), "{err}");
        assert!(state.set("stage", "L0 attention").is_err());
        assert!(state.set("stage", "Lx +attn").is_err());
        assert!(state.set("layer", "-1").is_err());
        assert!(state.set("token", "99999999999999999999").is_err());
        assert!(state.set("interventions", "zero L1").is_err());
        assert!(state.set("interventions", "scale L1H2 nan").is_err());
        assert!(state.set("colour", "red").unwrap_err().contains("view"));
    }

    #[test]
    fn training_runs() {
        let run = parse_training("preset=deep data=task:copy steps=300 lr=3e-3 compare=residual")
            .unwrap();
        assert_eq!(run.preset, "deep");
        assert_eq!(run.steps, Some(300));
        assert!(run.compare_residual && !run.start);
        assert!(parse_training("steps=3").is_err());
        assert!(parse_training("preset=x lr=-1").is_err());
        assert!(parse_training("preset=x data=web").is_err());
    }

    #[test]
    fn token_positions_resolve() {
        assert_eq!(TokenPos::Last.resolve(4), Some(3));
        assert_eq!(TokenPos::Last.resolve(0), None);
        assert_eq!(TokenPos::Index(4).resolve(4), None);
    }
}
