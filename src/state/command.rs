//! Commands: the only way views change the state. The app collects them during a frame
//! and applies them together with [`AppState::apply`].

use std::path::PathBuf;
use std::sync::Arc;

use super::export::ExportFormat;
use super::generate::{GenerateBlocked, GenerateOptions, next_token};
use super::jobs::FilePurpose;
use super::prompt::append_token;
use super::settings::{LensColour, ViewKind};
use super::{AppState, models};
use crate::interp::{LensNorm, Term, stages};
use crate::model::TokenId;

/// Something a view asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Replace the prompt text.
    SetPrompt(String),
    /// Follow the token at this position.
    SelectToken(usize),
    /// The logit lens view shows these token rows (their lens cells are computed next).
    ShowLensRows(std::ops::Range<usize>),
    /// Move the stage slider to this notch.
    SetStage(usize),
    /// Move the stage slider by this many notches (←/→).
    StepStage(isize),
    /// Choose a block.
    SelectLayer(usize),
    /// Choose an attention head (and its block).
    SelectHead {
        /// Block index.
        layer: usize,
        /// Head index.
        head: usize,
    },
    /// Highlight a contribution term, or none (a head also selects its layer and head).
    SelectComponent(Option<Term>),
    /// Attribute to this token's logit (`None`: the top prediction).
    SetTarget(Option<TokenId>),
    /// Show a view.
    ShowView(ViewKind),
    /// Open a file dialog.
    ChooseFile(FilePurpose),
    /// Read a model file or folder (what the open dialog calls).
    OpenModel(PathBuf),
    /// Go back to the embedded default model.
    OpenDefaultModel,
    /// Write the open model in the native format.
    SaveModel(PathBuf),
    /// Export the current view.
    Export {
        /// PNG, CSV or JSON.
        format: ExportFormat,
        /// Where.
        path: PathBuf,
    },
    /// Set the GUI zoom factor.
    SetZoom(f32),
    /// Dark (true) or light theme.
    SetDark(bool),
    /// How the logit lens colours cells.
    SetLensColour(LensColour),
    /// Something for the Features view (the SAE, its run, its features).
    Sae(super::features::SaeCommand),
    /// Which composition the Circuits view maps.
    SetComposition(crate::interp::circuits::CompositionKind),
    /// Compute the circuits of the weights on screen, if they are not computed or under
    /// way (the Circuits view asks when it is drawn).
    ComputeCircuits,
    /// How the logit lens applies the final LayerNorm (the analysis is recomputed).
    SetLensNorm(LensNorm),
    /// How the next token is chosen.
    SetGenerateOptions(GenerateOptions),
    /// Append the next token to the prompt.
    GenerateNext,
    /// Hide the error banner.
    DismissError,
    /// Something for the training panel (start, pause, the timeline, ...).
    Training(super::training_run::TrainingCommand),
    /// Change the list of interventions.
    Intervention(super::experiments::InterventionCommand),
    /// Something for the activation-patching panel.
    Patching(super::experiments::PatchingCommand),
    /// Set what each sublayer adds, in forward order (`b_O`, `b_out` of every block), in a
    /// model whose `W_O` and `W_out` are zero: lesson 1's editor of the toy's additions.
    SetAdditions(Vec<Vec<f32>>),
    /// Something for the lesson player (open a lesson, Back, Next, the language).
    Lesson(super::lesson_run::LessonCommand),
}

impl AppState {
    /// Applies one command.
    pub fn apply(&mut self, command: Command) {
        match command {
            Command::SetPrompt(text) => {
                if text != self.settings.prompt {
                    self.settings.prompt = text;
                    self.retokenize();
                }
            }
            Command::SelectToken(pos) => {
                self.selection.token = pos.min(self.prompt.ids.len().saturating_sub(1));
                self.refocus_lens();
            }
            Command::ShowLensRows(rows) => {
                if rows != self.lens_rows_on_screen {
                    self.lens_rows_on_screen = rows;
                    self.refocus_lens();
                }
            }
            Command::SetStage(index) => {
                let stages = stages(&self.model.params.config);
                self.selection.set_stage(index, &stages);
            }
            Command::StepStage(delta) => {
                let stages = stages(&self.model.params.config);
                self.selection.step_stage(delta, &stages);
            }
            Command::SelectLayer(layer) => {
                self.selection.layer = layer.min(self.model.params.config.n_layers - 1);
            }
            Command::SelectHead { layer, head } => {
                let config = &self.model.params.config;
                self.selection.layer = layer.min(config.n_layers - 1);
                self.selection.head = head.min(config.n_heads - 1);
            }
            Command::SelectComponent(term) => {
                if let Some(Term::Head { layer, head }) = term {
                    self.selection.layer = layer;
                    self.selection.head = head;
                }
                self.selection.component = term;
            }
            Command::SetTarget(target) => self.selection.target_token = target,
            Command::ShowView(view) => {
                self.settings.view = view;
                if view == ViewKind::Circuits {
                    // Started now, not when the view is first drawn.
                    self.apply(Command::ComputeCircuits);
                }
            }
            Command::ChooseFile(purpose) => self.dialog_request = Some(purpose),
            Command::OpenModel(path) => {
                self.loading = Some(path.clone());
                self.load_progress = Some(self.jobs.load_model(path));
            }
            Command::OpenDefaultModel => {
                self.settings.last_model = None;
                self.open_other_model(models::default_model());
            }
            Command::SaveModel(path) => {
                let model = self.model.clone();
                self.jobs
                    .write_file(path, move |path| models::save_model(&model, path));
            }
            Command::Export { format, path } => self.export_request = Some((format, path)),
            Command::SetZoom(zoom) => self.settings.zoom = zoom.clamp(0.5, 3.0),
            Command::SetDark(dark) => self.settings.dark = dark,
            Command::SetLensColour(colour) => self.settings.lens_colour = colour,
            Command::SetComposition(kind) => self.settings.composition = kind,
            Command::Sae(command) => self.apply_sae(command),
            Command::ComputeCircuits => {
                // The model on screen: a training snapshot's, or the open model's.
                let model = self.analysis.as_ref().map_or(&self.model, |a| &a.model);
                let model = Arc::clone(model);
                self.circuits.request(&model, self.jobs.sender());
            }
            Command::SetLensNorm(norm) => {
                if norm != self.settings.lens_norm {
                    self.settings.lens_norm = norm;
                    self.retokenize();
                }
            }
            Command::SetGenerateOptions(options) => self.settings.generate = options,
            Command::GenerateNext => self.generate_next(),
            Command::DismissError => self.error = None,
            Command::Training(command) => self.apply_training(command),
            Command::Intervention(command) => self.apply_intervention(command),
            Command::Patching(command) => self.apply_patching(command),
            Command::SetAdditions(values) => {
                let mut model = (*self.model).clone();
                crate::lesson::toy::set_additions(&mut model.params, &values);
                self.set_model(model);
                self.model_edited = true;
            }
            Command::Lesson(command) => self.apply_lesson(command),
        }
    }

    /// Whether "Generate" can append a token now, or why not.
    pub fn can_generate(&self) -> Result<(), GenerateBlocked> {
        if !self.model.tokenizer.accepts_text() && self.prompt.ids.is_empty() {
            return Err(GenerateBlocked::NoIds);
        }
        let n_ctx = self.model.params.config.n_ctx;
        if self.prompt.ids.len() >= n_ctx {
            return Err(GenerateBlocked::ContextFull(n_ctx));
        }
        // The last position's logits may come a moment after the trace.
        let last_logits = self.analysis.as_ref().is_some_and(|analysis| {
            analysis
                .logits_row(analysis.n_pos().saturating_sub(1))
                .is_some()
        });
        if !self.analysis_is_current() || !last_logits {
            return Err(GenerateBlocked::Running);
        }
        Ok(())
    }

    fn generate_next(&mut self) {
        if let Err(reason) = self.can_generate() {
            self.notice = Some(reason.cannot_generate());
            return;
        }
        let Some(analysis) = &self.analysis else {
            return;
        };
        let last = analysis.n_pos() - 1;
        let Some(logits) = analysis.logits_row(last) else {
            return; // can_generate checked
        };
        let options = self.settings.generate;
        if let Some(id) = next_token(logits, &options, &mut self.rng) {
            let text = append_token(&self.settings.prompt, &self.model.tokenizer, id);
            self.settings.prompt = text;
            self.retokenize();
            self.selection.token = self.prompt.ids.len().saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::i18n::Language;
    use crate::state::Settings;

    #[test]
    fn generating_is_refused_with_the_reason_the_prompt_bar_shows() {
        let model = models::default_model();
        let n_ctx = model.params.config.n_ctx;
        let settings = |prompt: String| Settings {
            prompt,
            ..Settings::default()
        };
        // Before its trace is ready the prompt cannot grow.
        let state = AppState::new(
            model.clone(),
            settings("to be".into()),
            crate::state::Waker::none(),
        );
        assert_eq!(state.can_generate(), Err(GenerateBlocked::Running));
        // A prompt as long as the context is full, whatever the trace.
        let state = AppState::new(
            model,
            settings("a".repeat(n_ctx)),
            crate::state::Waker::none(),
        );
        assert_eq!(
            state.can_generate(),
            Err(GenerateBlocked::ContextFull(n_ctx))
        );
        let full = GenerateBlocked::ContextFull(n_ctx).cannot_generate();
        assert_eq!(
            full.text(Language::En),
            format!("Cannot generate: the context is full ({n_ctx} tokens)")
        );
        assert_eq!(
            full.text(Language::Pt),
            format!("Não é possível gerar: o contexto está cheio ({n_ctx} tokens)")
        );
    }
}
