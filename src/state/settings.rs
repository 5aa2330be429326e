//! Settings that outlive a session (stored through eframe's storage as JSON): the last
//! model, the prompt, the open view, zoom, theme, recent models and view options.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::generate::GenerateOptions;
use crate::interp::LensNorm;
use crate::interp::circuits::CompositionKind;
pub use crate::view_kind::ViewKind;

/// How the logit lens colours its cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum LensColour {
    /// By the probability of the top prediction.
    #[default]
    TopProbability,
    /// By the rank of the token that actually comes next (rank 1 is best).
    NextTokenRank,
}

/// Everything persisted between sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The model file or folder open last (`None`: the embedded default).
    pub last_model: Option<PathBuf>,
    /// The prompt.
    pub prompt: String,
    /// The view on screen.
    pub view: ViewKind,
    /// GUI zoom factor (1.0 is normal; projectors want more).
    pub zoom: f32,
    /// Dark theme (true) or light (false).
    pub dark: bool,
    /// Recently opened models, newest first.
    pub recent_models: Vec<PathBuf>,
    /// How the logit lens colours its cells.
    pub lens_colour: LensColour,
    /// How the logit lens applies the final LayerNorm to each stage's stream.
    pub lens_norm: LensNorm,
    /// How "Generate" picks the next token.
    pub generate: GenerateOptions,
    /// Which composition the Circuits view maps (Q, K or V).
    pub composition: CompositionKind,
}

/// How many recent models the menu keeps.
pub const MAX_RECENT: usize = 8;

impl Default for Settings {
    fn default() -> Self {
        Self {
            last_model: None,
            prompt: String::new(),
            view: ViewKind::Residual,
            zoom: 1.0,
            dark: true,
            recent_models: Vec::new(),
            lens_colour: LensColour::TopProbability,
            lens_norm: LensNorm::OwnStatistics,
            generate: GenerateOptions::default(),
            composition: CompositionKind::default(),
        }
    }
}

impl Settings {
    /// Puts `path` first in the recent list, without duplicates, keeping [`MAX_RECENT`].
    pub fn remember_model(&mut self, path: &Path) {
        self.recent_models.retain(|p| p != path);
        self.recent_models.insert(0, path.to_path_buf());
        self.recent_models.truncate(MAX_RECENT);
        self.last_model = Some(path.to_path_buf());
    }

    /// Reads settings stored as JSON; anything unreadable gives the defaults, and values out
    /// of range are brought back in.
    pub fn from_json(text: &str) -> Self {
        let mut settings: Settings = serde_json::from_str(text).unwrap_or_default();
        if !(settings.zoom.is_finite() && (0.5..=3.0).contains(&settings.zoom)) {
            settings.zoom = 1.0;
        }
        settings.recent_models.truncate(MAX_RECENT);
        settings
    }

    /// The settings as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("settings always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_models_are_unique_and_bounded() {
        let mut settings = Settings::default();
        for i in 0..12 {
            settings.remember_model(Path::new(&format!("m{i}")));
        }
        settings.remember_model(Path::new("m5"));
        assert_eq!(settings.recent_models.len(), MAX_RECENT);
        assert_eq!(settings.recent_models[0], Path::new("m5"));
        assert_eq!(
            settings
                .recent_models
                .iter()
                .filter(|p| *p == Path::new("m5"))
                .count(),
            1
        );
    }

    #[test]
    fn json_round_trip_and_bad_input() {
        let mut settings = Settings {
            prompt: "hi".into(),
            zoom: 1.5,
            ..Default::default()
        };
        settings.remember_model(Path::new("a.safetensors"));
        assert_eq!(Settings::from_json(&settings.to_json()), settings);
        assert_eq!(Settings::from_json("not json"), Settings::default());
        assert_eq!(Settings::from_json(r#"{"zoom": 40.0}"#).zoom, 1.0);
    }
}
