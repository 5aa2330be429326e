//! Interventions and activation patching in the explorer: the commands that change the list
//! of patches (every view then redraws from a new trace of the patched model), and the
//! patching panel's state — two prompts, two tokens, and the `resid_pre` patching heatmap
//! computed on a helper thread (again whenever the model or the patches change).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use super::AppState;
use super::export::Table;
use super::jobs::Waker;
use crate::i18n::{Message, Notice, Noun};
use crate::interp::interventions::{Component, Interventions, Patch};
use crate::interp::patching::{ResidPatching, resid_pre_patching};
use crate::model::TokenId;
use crate::model::io::LoadedModel;
use crate::model::tokenizer::Tokenizer;

/// What the interventions panel asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum InterventionCommand {
    /// Add a patch (replacing one on the same component).
    Add(Patch),
    /// Remove the patch at this index of the list.
    Remove(usize),
    /// Remove the patch on this component.
    RemoveComponent(Component),
    /// Remove every patch.
    Clear,
    /// Make this the whole list (a lesson step).
    Replace(Vec<Patch>),
}

/// The two prompts and two tokens of an activation-patching experiment, as typed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PatchingSetup {
    /// The prompt the model answers correctly.
    pub clean: String,
    /// The same prompt with the information that matters changed (same token count).
    pub corrupted: String,
    /// The token the clean prompt should predict next.
    pub answer: String,
    /// The token the corrupted prompt predicts instead.
    pub wrong: String,
}

impl PatchingSetup {
    /// A ready-made experiment for a model with this tokenizer.
    pub fn example(tokenizer: &Tokenizer) -> Self {
        let (clean, corrupted, answer, wrong) = match tokenizer {
            // The last character is the same: only an earlier name tells what comes next.
            Tokenizer::Char(_) => ("Romeo saw Romeo. R", "Ralph saw Ralph. R", "o", "a"),
            // An induction prompt: after `5` came `9` (clean) or `13` (corrupted).
            Tokenizer::Ids { .. } => ("0 5 9 12 7 3 5", "0 5 13 12 7 3 5", "9", "13"),
            Tokenizer::Word(_) => (
                "when mary and john went to the store , john gave a drink to",
                "when mary and john went to the store , mary gave a drink to",
                "mary",
                "john",
            ),
            Tokenizer::Bpe(_) | Tokenizer::Hf(_) => (
                "When Mary and John went to the store, John gave a drink to",
                "When Mary and John went to the store, Mary gave a drink to",
                " Mary",
                " John",
            ),
        };
        Self {
            clean: clean.into(),
            corrupted: corrupted.into(),
            answer: answer.into(),
            wrong: wrong.into(),
        }
    }
}

/// What the patching panel asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum PatchingCommand {
    /// Replace the prompts and tokens.
    SetSetup(PatchingSetup),
    /// Run the experiment on the model on screen.
    Run,
}

/// A finished experiment, with what it ran on.
#[derive(Debug)]
pub struct PatchingOutcome {
    /// Restored fraction per layer and position, and the logit differences.
    pub result: ResidPatching,
    /// Chip texts of the clean prompt's tokens. [pos]
    pub clean_tokens: Vec<String>,
    /// Chip texts of the corrupted prompt's tokens. [pos]
    pub corrupted_tokens: Vec<String>,
    /// The setup it ran.
    pub setup: PatchingSetup,
    /// The model it ran on.
    pub model: Arc<LoadedModel>,
    /// The patches active in both runs.
    pub interventions: Interventions,
}

impl PatchingOutcome {
    /// One row per (layer, position), for export: the clean and corrupted tokens there, the
    /// fraction of the logit difference restored, and the patched run's logit difference.
    pub fn table(&self) -> Table {
        let mut table = Table::new(&[
            "layer",
            "position",
            "clean_token",
            "corrupted_token",
            "restored",
            "logit_diff",
        ]);
        let token = |tokens: &[String], pos: usize| tokens.get(pos).cloned().unwrap_or_default();
        for ((layer, pos), &restored) in self.result.restored.indexed_iter() {
            table.push(vec![
                layer.into(),
                pos.into(),
                token(&self.clean_tokens, pos).into(),
                token(&self.corrupted_tokens, pos).into(),
                restored.into(),
                self.result.logit_diff[[layer, pos]].into(),
            ]);
        }
        table
    }
}

/// The patching panel's state.
pub struct PatchingState {
    /// The prompts and tokens.
    pub setup: PatchingSetup,
    /// The newest result.
    pub outcome: Option<Arc<PatchingOutcome>>,
    /// Why the last run failed.
    pub error: Option<Message>,
    /// A run is under way.
    pub running: bool,
    sender: Sender<Result<PatchingOutcome, Message>>,
    results: Receiver<Result<PatchingOutcome, Message>>,
    wake: Waker,
}

impl std::fmt::Debug for PatchingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchingState")
            .field("setup", &self.setup)
            .field("running", &self.running)
            .finish()
    }
}

impl PatchingState {
    /// Empty; `wake` repaints when a run finishes.
    pub fn new(wake: Waker) -> Self {
        let (sender, results) = channel();
        Self {
            setup: PatchingSetup::default(),
            outcome: None,
            error: None,
            running: false,
            sender,
            results,
            wake,
        }
    }
}

/// `text` as exactly one token of `tokenizer`; `not_one` says which token is not.
fn single_token(tokenizer: &Tokenizer, text: &str, not_one: Notice) -> Result<TokenId, Message> {
    // A continuation of the prompt: no BOS.
    let encoding = tokenizer.encode_piece(text);
    match (encoding.ids.as_slice(), encoding.unknown.is_empty()) {
        ([id], true) => Ok(*id),
        _ => Err(Message::Notice(
            not_one,
            vec![
                Message::plain(format!("{text:?}")),
                Message::Count(encoding.ids.len(), Noun::Token),
            ],
        )),
    }
}

impl AppState {
    /// Applies an interventions command; the views redraw from a new trace.
    pub fn apply_intervention(&mut self, command: InterventionCommand) {
        let config = self.model.params.config.clone();
        match command {
            InterventionCommand::Add(patch) => {
                if let Err(message) = self.interventions.add(patch, &config) {
                    self.error = Some(Notice::CannotAddIntervention.with(&[&message]));
                }
            }
            InterventionCommand::Remove(index) => {
                self.interventions.remove(index);
            }
            InterventionCommand::RemoveComponent(component) => {
                self.interventions.remove_component(component);
            }
            InterventionCommand::Clear => self.interventions.clear(),
            InterventionCommand::Replace(patches) => {
                self.interventions.clear();
                for patch in patches {
                    if let Err(message) = self.interventions.add(patch, &config) {
                        self.error = Some(Notice::CannotAddIntervention.with(&[&message]));
                    }
                }
            }
        }
        self.retokenize();
    }

    /// Applies a patching command.
    pub fn apply_patching(&mut self, command: PatchingCommand) {
        match command {
            PatchingCommand::SetSetup(setup) => self.patching.setup = setup,
            PatchingCommand::Run => self.run_patching(),
        }
    }

    fn run_patching(&mut self) {
        let model = Arc::clone(&self.model);
        let setup = self.patching.setup.clone();
        let interventions = self.interventions.clone();
        let tokenizer = &model.tokenizer;
        let prepared = (|| {
            let clean = tokenizer.encode(&setup.clean);
            let corrupted = tokenizer.encode(&setup.corrupted);
            if !clean.unknown.is_empty() || !corrupted.unknown.is_empty() {
                return Err(Notice::UnknownCharacters.message());
            }
            let answer = single_token(tokenizer, &setup.answer, Notice::AnswerNotOneToken)?;
            let wrong = single_token(tokenizer, &setup.wrong, Notice::WrongNotOneToken)?;
            Ok((clean.ids, corrupted.ids, answer, wrong))
        })();
        let (clean, corrupted, answer, wrong) = match prepared {
            Ok(prepared) => prepared,
            Err(message) => {
                self.patching.error = Some(message);
                return;
            }
        };
        self.patching.running = true;
        self.patching.error = None;
        let sender = self.patching.sender.clone();
        let wake = self.patching.wake.clone();
        std::thread::spawn(move || {
            let result = resid_pre_patching(
                &model.params,
                &clean,
                &corrupted,
                answer,
                wrong,
                &interventions,
            )
            .map(|result| PatchingOutcome {
                result,
                clean_tokens: clean
                    .iter()
                    .map(|&id| model.tokenizer.display_token(id))
                    .collect(),
                corrupted_tokens: corrupted
                    .iter()
                    .map(|&id| model.tokenizer.display_token(id))
                    .collect(),
                setup,
                model: Arc::clone(&model),
                interventions,
            })
            .map_err(|e| e.message());
            let _ = sender.send(result);
            wake.now();
        });
    }

    /// Takes finished patching runs; runs again when the model or the patches changed since
    /// the result on screen (live during training). Returns whether anything changed.
    pub fn poll_patching(&mut self) -> bool {
        let mut changed = false;
        while let Ok(result) = self.patching.results.try_recv() {
            changed = true;
            self.patching.running = false;
            match result {
                Ok(outcome) => self.patching.outcome = Some(Arc::new(outcome)),
                Err(message) => self.patching.error = Some(message),
            }
        }
        let stale = self.patching.outcome.as_ref().is_some_and(|o| {
            !Arc::ptr_eq(&o.model, &self.model) || o.interventions != self.interventions
        });
        if stale && !self.patching.running && self.patching.error.is_none() {
            self.run_patching();
        }
        changed
    }
}
