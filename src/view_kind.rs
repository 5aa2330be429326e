//! The explorer's views, named once: the tabs, the settings, the lesson files (`view:
//! logit_lens`) and the exports all use [`ViewKind`]. Below both `lesson` and `state`, so
//! either can name a view without depending on the other; only `i18n` (their titles and
//! help texts in each language) is below it.

use serde::{Deserialize, Serialize};

use crate::i18n::{Help, Language, Msg};

/// The views of the explorer, in tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum ViewKind {
    /// The selected token's vector at every stage, and the additions.
    #[default]
    Residual,
    /// Attention patterns.
    Attention,
    /// Every term written into the stream.
    Contributions,
    /// Predictions read from every stage.
    LogitLens,
    /// How heads compose through the stream, read from the weights.
    Circuits,
    /// A sparse autoencoder's features at one hook: train, browse, edit.
    Features,
    /// Config, parameter counts, shapes.
    Model,
    /// Train a model and watch it learn.
    Training,
    /// Activation patching between a clean and a corrupted prompt.
    Patching,
}

impl ViewKind {
    /// Every view, in tab order.
    pub const ALL: [ViewKind; 9] = [
        ViewKind::Residual,
        ViewKind::Attention,
        ViewKind::Contributions,
        ViewKind::LogitLens,
        ViewKind::Circuits,
        ViewKind::Features,
        ViewKind::Model,
        ViewKind::Training,
        ViewKind::Patching,
    ];

    /// The tab's title in `language`.
    pub fn title(self, language: Language) -> &'static str {
        let key = match self {
            ViewKind::Residual => Msg::TabResidual,
            ViewKind::Attention => Msg::TabAttention,
            ViewKind::Contributions => Msg::TabContributions,
            ViewKind::LogitLens => Msg::TabLogitLens,
            ViewKind::Circuits => Msg::TabCircuits,
            ViewKind::Features => Msg::TabFeatures,
            ViewKind::Model => Msg::TabModel,
            ViewKind::Training => Msg::TabTraining,
            ViewKind::Patching => Msg::TabPatching,
        };
        key.text(language)
    }

    /// The "what am I looking at" text of the view in `language`.
    pub fn help(self, language: Language) -> &'static str {
        let key = match self {
            ViewKind::Residual => Help::Residual,
            ViewKind::Attention => Help::Attention,
            ViewKind::Contributions => Help::Contributions,
            ViewKind::LogitLens => Help::LogitLens,
            ViewKind::Circuits => Help::Circuits,
            ViewKind::Features => Help::Features,
            ViewKind::Model => Help::Model,
            ViewKind::Training => Help::Training,
            ViewKind::Patching => Help::Patching,
        };
        key.text(language)
    }

    /// The view's name in lesson files (`logit_lens`), and the file-name stem of exports
    /// and screenshots.
    pub fn slug(self) -> &'static str {
        match self {
            ViewKind::Residual => "residual",
            ViewKind::Attention => "attention",
            ViewKind::Contributions => "contributions",
            ViewKind::LogitLens => "logit_lens",
            ViewKind::Circuits => "circuits",
            ViewKind::Features => "features",
            ViewKind::Model => "model",
            ViewKind::Training => "training",
            ViewKind::Patching => "patching",
        }
    }

    /// The view named `slug` (see [`ViewKind::slug`]).
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|view| view.slug() == slug)
    }
}
