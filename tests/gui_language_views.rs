//! Every view in Portuguese with nothing left in English, driven through the real app under
//! egui_kittest (no window): each tab with the default model at the embedding, a LayerNorm
//! and the logits, the lens coloured both ways, patching run, a short training run with its
//! plots, timeline and side-by-side steps, the run left in the background, a residual
//! on/off comparison, and a Hugging Face folder opened (the "Opened …" notice and the model's
//! config rows).
//!
//! Every label and value of the accessibility tree is split into words, and none may be one
//! of [`ENGLISH_WORDS`]: words of the interface's English texts that Portuguese never uses.
//! What is data, not interface, is taken out first: the prompt fields, the model's and the
//! run's names, the model's path and the prompt's token texts. Landmarks in Portuguese are
//! looked for on the way, so an empty screen cannot pass; everything found is listed at the
//! end.
//!
//! Run against the interface before its views were translated (before the landmarks were
//! added), the review listed 80 distinct English texts (310 with their screens): the plots' legends, the attention and
//! contributions views' bodies, the model's config rows, the lens's "Colour by", the timeline
//! bar's steps, the background-run line, the "Opened …" notice.

mod gui_support;

use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};
use gui_support::{app, gpt2_tiny, last_stage, run_until, settle, switch_to_portuguese};
use residual_explorer::app::ExplorerApp;
use residual_explorer::i18n::{Language, TrainText, ViewText};
use residual_explorer::state::experiments::{PatchingCommand, PatchingSetup};
use residual_explorer::state::training::{DataChoice, TrainingSetup, TrainingStatus};
use residual_explorer::state::training_run::TrainingCommand;
use residual_explorer::state::{Command, LensColour, ViewKind};

/// English words of the interface that no Portuguese text contains (compared whole and
/// without regard to case; identifiers such as `n_layers` or `L0 attn` are single words
/// that match none of them).
const ENGLISH_WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "with",
    "without",
    "every",
    "Opened",
    "layer",
    "layers",
    "head",
    "heads",
    "Colour",
    "loss",
    "step",
    "steps",
    "Contributions",
    "Config",
    "stream",
    "probability",
    "rank",
    "train",
    "validation",
    "gradient",
    "Attribute",
    "query",
    "keys",
    "looks",
    "share",
    "projection",
    "prediction",
    "shown",
    "selected",
    "stage",
    "vocabulary",
    "connections",
    "weights",
    "score",
    "scores",
    "Highest",
    "Training",
    "norm",
    "output",
    "sum",
    "tokenizer",
    "residuals",
    "Task",
    "shipped",
    "learned",
    "positions",
    "unembedding",
    "tied",
    "applied",
    "background",
    "ended",
    "Close",
    "Show",
    "pattern",
    "enlarge",
    "term",
    "terms",
    "chosen",
    "character",
    "family",
    "file",
];

/// Texts on screen that are data, not interface: the model's and the run's names, the
/// model's path, the prompt and its tokens' texts (longest first, so a name is taken out
/// before a token inside it).
fn data_texts(app: &ExplorerApp) -> Vec<String> {
    let state = &app.state;
    let tokenizer = &state.model.tokenizer;
    let mut data = vec![state.model.name.clone(), state.settings.prompt.clone()];
    data.extend(state.training.run_name().map(str::to_string));
    data.extend(state.model.source.as_ref().map(|p| p.display().to_string()));
    for &id in &state.prompt.ids {
        data.push(tokenizer.display_token(id));
        data.push(tokenizer.decode_token(id));
    }
    data.retain(|text| text.trim().chars().count() > 1);
    data.sort_by_key(|text| std::cmp::Reverse(text.len()));
    data
}

/// The English words in `text`.
fn english_words_in(text: &str) -> Vec<&'static str> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .collect();
    ENGLISH_WORDS
        .iter()
        .copied()
        .filter(|english| words.iter().any(|w| w.eq_ignore_ascii_case(english)))
        .collect()
}

/// Collects, screen by screen, every text on screen that still has English words.
#[derive(Default)]
struct Review {
    found: Vec<String>,
}

impl Review {
    /// Reads every label and value on screen now (`screen` says where, in the report).
    fn look(&mut self, harness: &Harness<'static, ExplorerApp>, screen: &str) {
        let data = data_texts(harness.state());
        let inputs = [Role::TextInput, Role::MultilineTextInput];
        for node in harness.query_all(By::new().predicate(|node| !inputs.contains(&node.role()))) {
            let node = node.accesskit_node();
            for text in [node.label(), node.value()].into_iter().flatten() {
                let mut interface = text.clone();
                for datum in &data {
                    interface = interface.replace(datum.as_str(), " ");
                }
                let english = english_words_in(&interface);
                let line = format!("{screen}: {text:?} has {english:?}");
                if !english.is_empty() && !self.found.contains(&line) {
                    self.found.push(line);
                }
            }
        }
    }

    /// Shows `kind`, lets the app settle and reads it.
    fn view(&mut self, harness: &mut Harness<'static, ExplorerApp>, kind: ViewKind, what: &str) {
        harness.state_mut().state.apply(Command::ShowView(kind));
        settle(harness);
        self.look(harness, &format!("{} ({what})", kind.title(Language::Pt)));
    }

    /// Notes it unless some label or value on screen contains `text` (a landmark in
    /// Portuguese).
    fn expect(&mut self, harness: &Harness<'static, ExplorerApp>, text: &str) {
        let found = harness
            .query_all(By::new().predicate(|node| {
                [node.label(), node.value()]
                    .into_iter()
                    .flatten()
                    .any(|shown| shown.contains(text))
            }))
            .next()
            .is_some();
        if !found {
            self.found.push(format!("{text:?} is not on screen"));
        }
    }

    fn assert_none(&self) {
        assert!(
            self.found.is_empty(),
            "English on the Portuguese screen, or Portuguese missing ({} texts):\n{}",
            self.found.len(),
            self.found.join("\n")
        );
    }
}

fn apply(harness: &mut Harness<'static, ExplorerApp>, command: Command) {
    harness.state_mut().state.apply(command);
    settle(harness);
}

/// Starts `setup` from the Training tab, with its Portuguese Start button.
fn train(harness: &mut Harness<'static, ExplorerApp>, setup: TrainingSetup) {
    apply(harness, Command::ShowView(ViewKind::Training));
    apply(harness, Command::Training(TrainingCommand::SetSetup(setup)));
    harness
        .get_by_role_and_label(Role::Button, TrainText::Start.text(Language::Pt))
        .click();
}

/// Waits for the run to end and its last snapshot to be shown.
fn wait_for_end(harness: &mut Harness<'static, ExplorerApp>) {
    run_until(harness, Duration::from_secs(120), "the run's end", |app| {
        let training = &app.state.training;
        matches!(training.status, TrainingStatus::Finished { .. }) && !training.busy()
    });
    settle(harness);
}

/// A short run of the induction preset (token ids: no English words among its tokens).
fn short_run(steps: usize) -> TrainingSetup {
    TrainingSetup {
        steps,
        batch: 4,
        seq: 16,
        ..TrainingSetup::default()
    }
}

#[test]
fn every_view_speaks_portuguese() {
    let mut harness = app();
    switch_to_portuguese(&mut harness);
    let mut review = Review::default();

    // The default model, every view, at the embedding, a LayerNorm and the logits.
    let last = last_stage(&harness);
    for (stage, what) in [(0, "embed"), (1, "L0 ln1"), (last, "logits")] {
        apply(&mut harness, Command::SetStage(stage));
        for kind in ViewKind::ALL {
            review.view(&mut harness, kind, what);
        }
    }
    apply(
        &mut harness,
        Command::SetLensColour(LensColour::NextTokenRank),
    );
    review.view(&mut harness, ViewKind::LogitLens, "rank of the next token");
    review.expect(&harness, "Colorir por");
    review.expect(&harness, "posição do próximo token (escala log");

    // Patching, run on this model's example.
    review.view(&mut harness, ViewKind::Patching, "form");
    harness
        .get_by_label(ViewText::ExampleForModel.text(Language::Pt))
        .click();
    harness.run();
    harness
        .get_by_label(ViewText::RunPatching.text(Language::Pt))
        .click();
    run_until(&mut harness, Duration::from_secs(60), "patching", |app| {
        app.state.patching.outcome.is_some() || app.state.patching.error.is_some()
    });
    review.view(&mut harness, ViewKind::Patching, "result");
    review.expect(&harness, "Mais recuperado: camada");
    // Prompts of different lengths: the error is said in Portuguese.
    let uneven = PatchingSetup {
        clean: "To be".into(),
        corrupted: "To".into(),
        answer: "o".into(),
        wrong: "a".into(),
    };
    apply(
        &mut harness,
        Command::Patching(PatchingCommand::SetSetup(uneven)),
    );
    apply(&mut harness, Command::Patching(PatchingCommand::Run));
    run_until(&mut harness, Duration::from_secs(60), "the error", |app| {
        app.state.patching.error.is_some()
    });
    review.view(&mut harness, ViewKind::Patching, "uneven prompts");
    review.expect(&harness, "o prompt limpo tem 5 tokens");

    // A short training run: its plots, the timeline under every view, two steps side by side.
    train(&mut harness, short_run(12));
    wait_for_end(&mut harness);
    review.view(&mut harness, ViewKind::Training, "after a run");
    review.expect(&harness, "Perda (nats por token)");
    review.expect(&harness, "Pontuações das cabeças ao longo do treino");
    for kind in [ViewKind::Residual, ViewKind::Attention, ViewKind::LogitLens] {
        review.view(&mut harness, kind, "the run's timeline");
    }
    apply(
        &mut harness,
        Command::Training(TrainingCommand::CompareStep(Some(0))),
    );
    review.view(&mut harness, ViewKind::Attention, "side by side");
    apply(
        &mut harness,
        Command::Training(TrainingCommand::CompareStep(None)),
    );

    // A long run going on while the default model is shown: the line that says so.
    train(&mut harness, short_run(100_000));
    run_until(&mut harness, Duration::from_secs(60), "snapshots", |app| {
        app.state.training.snapshots_shown >= 2
    });
    review.view(&mut harness, ViewKind::Training, "during a run");
    apply(&mut harness, Command::OpenDefaultModel);
    review.view(&mut harness, ViewKind::Residual, "a run in the background");
    review.expect(&harness, "continua em segundo plano");
    apply(&mut harness, Command::Training(TrainingCommand::Stop));
    wait_for_end(&mut harness);
    review.view(
        &mut harness,
        ViewKind::Residual,
        "a run stopped in the background",
    );
    review.expect(&harness, "terminou em segundo plano");

    // The residual on/off comparison: its plots, and its line under the other views.
    train(
        &mut harness,
        TrainingSetup {
            preset: "deep".into(),
            data: DataChoice::Shakespeare,
            steps: 100_000,
            batch: 2,
            seq: 16,
            compare_residual: true,
            ..TrainingSetup::default()
        },
    );
    run_until(&mut harness, Duration::from_secs(60), "both runs", |app| {
        let comparison = app.state.training.comparison.as_ref();
        comparison.is_some_and(|c| c.points.iter().all(|run| run.len() >= 2))
    });
    review.view(&mut harness, ViewKind::Training, "residual comparison");
    review.expect(&harness, "Perda com e sem conexões residuais");
    review.view(
        &mut harness,
        ViewKind::Residual,
        "a comparison in the background",
    );
    review.expect(&harness, "O experimento com e sem residuais continua");
    apply(&mut harness, Command::Training(TrainingCommand::Stop));
    wait_for_end(&mut harness);

    // A Hugging Face folder: the notice and the architecture's rows.
    harness.state_mut().open_model(gpt2_tiny());
    settle(&mut harness);
    review.view(&mut harness, ViewKind::Model, "GPT-2 folder opened");
    review.expect(&harness, "Aberto: ");
    review.expect(&harness, "camadas (n_layers)");

    review.assert_none();
}
