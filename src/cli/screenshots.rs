//! `residual-explorer screenshots --out DIR`: opens the real window, shows every view in
//! turn and saves each frame with eframe's screenshot (needs a display; Xvfb works).

use crate::state::features::SaeCommand;
use crate::state::training::TrainingStatus;
use crate::state::training_run::TrainingCommand;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use clap::Args;
use egui::{Context, Rect};

use super::CliError;
use crate::app::{AppOptions, ExplorerApp, Script, native_options, save_region_png};
use crate::state::{AppState, Command, Settings, ViewKind};

/// `screenshots` options.
#[derive(Debug, Args)]
pub struct ScreenshotsArgs {
    /// Folder to write the PNGs into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// A model to show instead of the embedded default.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The prompt to show (the model's default prompt if absent).
    #[arg(long)]
    pub prompt: Option<String>,
    /// Window width in points.
    #[arg(long, default_value_t = 1280.0)]
    pub width: f32,
    /// Window height in points.
    #[arg(long, default_value_t = 800.0)]
    pub height: f32,
    /// Only these views (residual, attention, contributions, logit_lens, circuits, model,
    /// training, patching); all if absent.
    #[arg(long, value_delimiter = ',')]
    pub views: Vec<String>,
    /// Light theme instead of dark.
    #[arg(long)]
    pub light: bool,
    /// The interface's language: `en` or `pt` (Portuguese pictures get a `_pt` suffix).
    #[arg(long, default_value = "en", value_parser = ["en", "pt"])]
    pub language: String,
    /// Presentation zoom (2 is 200 %, as a projector wants); the pictures get a `_zoom200`
    /// suffix.
    #[arg(long, value_parser = parse_zoom)]
    pub zoom: Option<f32>,
    /// For the Training view: a run to train to its end first, written as a lesson's
    /// `training:` line (`preset=induction data=task:induction steps=2000 lr=0.003`).
    #[arg(long, value_parser = crate::lesson::state::parse_training)]
    pub train: Option<crate::lesson::TrainingRun>,
    /// For the Features view: an SAE folder (SAELens's format) to open first.
    #[arg(long)]
    pub sae: Option<PathBuf>,
    /// For the Features view: the feature to detail.
    #[arg(long, requires = "sae")]
    pub feature: Option<usize>,
}

/// A zoom factor the View menu offers (0.5 to 3).
fn parse_zoom(text: &str) -> Result<f32, String> {
    text.parse::<f32>()
        .ok()
        .filter(|z| (0.5..=3.0).contains(z))
        .ok_or_else(|| format!("{text:?} is not a zoom between 0.5 and 3"))
}

/// One picture: the commands that set it up and the file it goes to.
struct Shot {
    file: String,
    commands: Vec<Command>,
}

enum Phase {
    Setup,
    Settling(u32),
    Waiting,
    Done,
}

/// Steps through the shots: set up, let the view settle, take the screenshot, save it.
struct ScreenshotScript {
    out: PathBuf,
    shots: Vec<Shot>,
    index: usize,
    phase: Phase,
    images: (
        Sender<Arc<egui::ColorImage>>,
        Receiver<Arc<egui::ColorImage>>,
    ),
    report: Arc<Mutex<Vec<Result<PathBuf, String>>>>,
}

/// Frames to wait after the state is idle, so layouts and plots have settled.
const SETTLE_FRAMES: u32 = 4;

impl Script for ScreenshotScript {
    fn before_frame(&mut self, ctx: &Context, _state: &AppState) -> Vec<Command> {
        ctx.request_repaint();
        match self.phase {
            Phase::Setup => {
                self.phase = Phase::Settling(0);
                std::mem::take(&mut self.shots[self.index].commands)
            }
            _ => Vec::new(),
        }
    }

    fn after_frame(&mut self, ctx: &Context, state: &AppState, _view_rect: Option<Rect>) {
        match self.phase {
            Phase::Setup | Phase::Done => {}
            Phase::Settling(frames) => {
                let training = matches!(
                    state.training.status,
                    TrainingStatus::Preparing | TrainingStatus::Running
                );
                if state.busy() || state.analysis.is_none() || training {
                    self.phase = Phase::Settling(0);
                } else if frames + 1 >= SETTLE_FRAMES {
                    let sender = self.images.0.clone();
                    ctx.request_screenshot(move |image| {
                        let _ = sender.send(image);
                    });
                    self.phase = Phase::Waiting;
                } else {
                    self.phase = Phase::Settling(frames + 1);
                }
            }
            Phase::Waiting => {
                if let Ok(image) = self.images.1.try_recv() {
                    let path = self.out.join(&self.shots[self.index].file);
                    let result = save_region_png(&image, None, ctx.pixels_per_point(), &path)
                        .map(|()| path.clone());
                    self.report.lock().expect("not poisoned").push(result);
                    self.index += 1;
                    if self.index == self.shots.len() {
                        self.phase = Phase::Done;
                        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    } else {
                        self.phase = Phase::Setup;
                    }
                }
            }
        }
    }
}

fn parse_view(name: &str) -> Result<ViewKind, CliError> {
    ViewKind::ALL
        .into_iter()
        .find(|k| k.slug() == name)
        .ok_or_else(|| CliError::usage(format!("unknown view {name:?}")))
}

/// The pictures of every view, with selections that show each one at its most telling.
/// `prompt` (typed before each picture, once the model is open) and `zoom` apply to all;
/// `train` is run to its end before the Training view's picture.
fn shots(
    views: &[ViewKind],
    suffix: &str,
    prompt: Option<&str>,
    zoom: Option<f32>,
    train: Option<&crate::lesson::TrainingRun>,
    sae: Option<(&PathBuf, Option<usize>)>,
) -> Vec<Shot> {
    views
        .iter()
        .map(|&view| {
            let mut commands: Vec<Command> = prompt
                .map(|p| Command::SetPrompt(p.to_string()))
                .into_iter()
                .chain(zoom.map(Command::SetZoom))
                .collect();
            commands.push(Command::ShowView(view));
            commands.extend(match view {
                ViewKind::Residual => vec![Command::SelectToken(4), Command::SetStage(3)],
                ViewKind::Attention => vec![
                    Command::SelectHead { layer: 1, head: 1 },
                    Command::SelectToken(usize::MAX),
                ],
                ViewKind::Contributions => vec![
                    Command::SelectToken(usize::MAX),
                    Command::SetStage(usize::MAX),
                ],
                ViewKind::LogitLens => vec![Command::SelectToken(usize::MAX)],
                // The lessons' induction head: its full OV circuit's diagonal (it copies).
                ViewKind::Circuits => vec![
                    Command::SelectHead { layer: 1, head: 0 },
                    Command::SelectToken(usize::MAX),
                ],
                ViewKind::Model => vec![Command::SetStage(3)],
                ViewKind::Training => train
                    .map(|run| {
                        let mut run = run.clone();
                        run.start = true;
                        Command::Training(TrainingCommand::FromLesson(run))
                    })
                    .into_iter()
                    .collect(),
                ViewKind::Features => sae
                    .map(|(folder, feature)| {
                        vec![
                            Command::SelectToken(usize::MAX),
                            Command::Sae(SaeCommand::Open(folder.clone())),
                            Command::Sae(SaeCommand::Select(feature)),
                        ]
                    })
                    .unwrap_or_default(),
                ViewKind::Patching => Vec::new(),
            });
            Shot {
                file: format!("{}{suffix}.png", view.slug()),
                commands,
            }
        })
        .collect()
}

/// Runs the screenshot command.
pub fn run(args: &ScreenshotsArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::input(format!("cannot create {}: {e}", args.out.display())))?;
    let views = if args.views.is_empty() {
        ViewKind::ALL.to_vec()
    } else {
        args.views
            .iter()
            .map(|v| parse_view(v))
            .collect::<Result<_, _>>()?
    };
    let language_suffix = if args.language == "en" { "" } else { "_pt" };
    let theme_suffix = if args.light { "_light" } else { "" };
    let zoom_suffix = args
        .zoom
        .map_or(String::new(), |z| format!("_zoom{}", (z * 100.0).round()));
    let suffix = format!("{language_suffix}{theme_suffix}{zoom_suffix}");
    let report = Arc::new(Mutex::new(Vec::new()));
    let script = ScreenshotScript {
        out: args.out.clone(),
        shots: shots(
            &views,
            &suffix,
            args.prompt.as_deref(),
            args.zoom,
            args.train.as_ref(),
            args.sae.as_ref().map(|folder| (folder, args.feature)),
        ),
        index: 0,
        phase: Phase::Setup,
        images: channel(),
        report: report.clone(),
    };
    let settings = Settings {
        prompt: args.prompt.clone().unwrap_or_default(),
        dark: !args.light,
        ..Settings::default()
    };
    let options = AppOptions {
        model: args.model.clone(),
        restore_settings: false,
        log_first_frame: false,
        script: Some(Box::new(script)),
        settings: Some(settings),
        lessons: Some(crate::lesson::player::LessonSettings {
            language: args.language.clone(),
            ..Default::default()
        }),
    };
    let mut native = native_options(args.width, args.height, false);
    // Keep the scripted session's egui memory away from the user's.
    // Each run starts from fresh memory: a zoom left by an earlier run (`--zoom 2`) would
    // otherwise open the next run's window at twice its size.
    let memory = std::env::temp_dir().join("residual-explorer-screenshots");
    let _ = std::fs::remove_file(&memory);
    native.persistence_path = Some(memory);
    eframe::run_native(
        "Residual Explorer",
        native,
        Box::new(move |cc| Ok(Box::new(ExplorerApp::new(cc, options)))),
    )
    .map_err(|e| CliError::input(format!("could not open the window: {e}")))?;
    let report = report.lock().expect("not poisoned");
    for result in report.iter() {
        match result {
            Ok(path) => println!("wrote {}", path.display()),
            Err(message) => return Err(CliError::input(message)),
        }
    }
    if report.len() < views.len() {
        return Err(CliError::input(format!(
            "the window closed after {} of {} screenshots",
            report.len(),
            views.len()
        )));
    }
    Ok(())
}
