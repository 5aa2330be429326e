//! Walks through the lessons as a student would, in a real window, and saves a screenshot of
//! the whole window at every step: `OUT/NN-LANG-SS.png` (lesson, language, step).
//!
//! ```sh
//! cargo run --release --example lesson_walk -- [--out screenshots/lessons] [--lessons 1,4]
//!     [--languages en,pt] [--train]
//! ```
//!
//! Needs a display (Xvfb works: `Xvfb :57 -screen 0 1600x1000x24 & DISPLAY=:57 cargo run …`).
//! Each step is opened through the lesson panel, exactly as pressing Next does; the screenshot
//! is taken once the lesson's model is open, the step's commands are applied and every trace
//! is finished. With `--train`, a step that sets up a training run also starts it and waits
//! for it to finish before going on, as a student pressing Start would (lessons 2 and 8 take
//! a few minutes then). The mouse is ignored, so no hover or tooltip shows in the pictures.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use egui::Ui;
use residual_explorer::app::{
    AppOptions, ExplorerApp, ignore_pointer, native_options, save_region_png,
};
use residual_explorer::lesson::Language;
use residual_explorer::lesson::embedded::embedded_lessons;
use residual_explorer::lesson::player::LessonSettings;
use residual_explorer::state::Command;
use residual_explorer::state::training_run::TrainingCommand;

/// One screenshot to take: lesson number, language, step index.
type Shot = (u32, Language, usize);

/// What the walker is doing.
enum Phase {
    /// Opening the shot's step and waiting for everything to settle (frames counted idle).
    Settling(usize),
    /// A training run was started; waiting for it to end.
    Training,
    /// A screenshot was requested.
    Capturing,
}

struct Walker {
    app: ExplorerApp,
    shots: Vec<Shot>,
    next: usize,
    phase: Phase,
    out: PathBuf,
    train: bool,
    /// Whether this shot's training run has been started (once per shot: the state can be
    /// busy again after the run ends, and the step must not start another run then).
    trained: bool,
    image: Arc<Mutex<Option<Arc<egui::ColorImage>>>>,
}

impl Walker {
    fn open_current(&mut self) {
        let (number, language, step) = self.shots[self.next];
        self.app.state.lesson.player.language = language;
        let mut commands = Vec::new();
        self.app.lessons.open(number, step, &mut commands);
        for command in commands {
            self.app.state.apply(command);
        }
        self.phase = Phase::Settling(0);
        self.trained = false;
    }

    fn idle(&self) -> bool {
        let state = &self.app.state;
        !self.app.state.lesson.is_setting_up()
            && !state.busy()
            && state.analysis_is_current()
            && !state.training.status.is_active()
    }
}

impl eframe::App for Walker {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.app.draw_ui(ui);
        ctx.request_repaint();
        match self.phase {
            Phase::Settling(frames) => {
                if !self.idle() {
                    self.phase = Phase::Settling(0);
                } else if frames == 2 && self.train && !self.trained && self.step_sets_training() {
                    self.app
                        .state
                        .apply(Command::Training(TrainingCommand::Start));
                    self.trained = true;
                    self.phase = Phase::Training;
                } else if frames >= 5 {
                    let slot = Arc::clone(&self.image);
                    ctx.request_screenshot(move |image| *slot.lock().unwrap() = Some(image));
                    self.phase = Phase::Capturing;
                } else {
                    self.phase = Phase::Settling(frames + 1);
                }
            }
            Phase::Training => {
                if !self.app.state.training.status.is_active() {
                    self.phase = Phase::Settling(3);
                }
            }
            Phase::Capturing => {
                let Some(image) = self.image.lock().unwrap().take() else {
                    return;
                };
                let (number, language, step) = self.shots[self.next];
                let name = format!("{number:02}-{}-{:02}.png", language.code(), step + 1);
                let path = self.out.join(name);
                match save_region_png(&image, None, ctx.pixels_per_point(), &path) {
                    Ok(()) => println!("{}", path.display()),
                    Err(error) => eprintln!("{}: {error}", path.display()),
                }
                self.next += 1;
                if self.next == self.shots.len() {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                } else {
                    self.open_current();
                }
            }
        }
    }

    /// The mouse is ignored (the pointer is gone every frame), so no tooltip covers a view.
    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        ignore_pointer(raw_input);
    }
}

impl Walker {
    /// Whether the current shot's step itself sets up a training run.
    fn step_sets_training(&self) -> bool {
        self.app
            .state
            .lesson
            .player
            .current()
            .is_some_and(|(lesson, step)| lesson.steps[step].state.training.is_some())
    }
}

fn main() -> Result<(), String> {
    let mut out = PathBuf::from("screenshots/lessons");
    let mut numbers: Option<Vec<u32>> = None;
    let mut languages = Language::ALL.to_vec();
    let mut train = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--out" => out = PathBuf::from(value()?),
            "--lessons" => {
                let list = value()?;
                let parsed: Result<Vec<u32>, _> = list.split(',').map(str::parse).collect();
                numbers = Some(parsed.map_err(|_| format!("bad lesson list {list:?}"))?);
            }
            "--languages" => {
                let list = value()?;
                let parsed: Option<Vec<Language>> =
                    list.split(',').map(Language::from_code).collect();
                languages = parsed.ok_or(format!("bad language list {list:?}"))?;
            }
            "--train" => train = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let (lessons, problems) = embedded_lessons();
    if !problems.is_empty() {
        return Err(format!("the shipped lessons have problems: {problems:?}"));
    }
    let mut shots: Vec<Shot> = Vec::new();
    for language in languages {
        for lesson in lessons.iter().filter(|l| l.language == language) {
            if numbers.as_ref().is_none_or(|n| n.contains(&lesson.number)) {
                shots.extend((0..lesson.steps.len()).map(|step| (lesson.number, language, step)));
            }
        }
    }
    if shots.is_empty() {
        return Err("no lesson to walk through".into());
    }
    let options = AppOptions {
        lessons: Some(LessonSettings {
            welcomed: true,
            ..LessonSettings::default()
        }),
        ..AppOptions::default()
    };
    let mut native = native_options(1280.0, 800.0, false);
    native.persistence_path = Some(std::env::temp_dir().join("residual-explorer-lesson-walk"));
    eframe::run_native(
        "Residual Explorer",
        native,
        Box::new(move |cc| {
            let mut walker = Walker {
                app: ExplorerApp::new(cc, options),
                shots,
                next: 0,
                phase: Phase::Settling(0),
                out,
                train,
                trained: false,
                image: Arc::new(Mutex::new(None)),
            };
            walker.open_current();
            Ok(Box::new(walker))
        }),
    )
    .map_err(|e| format!("could not open the window: {e}"))
}
