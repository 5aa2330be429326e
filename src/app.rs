//! The eframe application: each frame it takes finished jobs, draws the panels and the open
//! view (which push [`Command`]s), applies the commands in one place, then carries out what
//! needs egui or the OS (theme, zoom, screenshots, file dialogs, exports).

use std::path::PathBuf;
use std::time::Instant;

use egui::{Context, Rect, Ui};

use crate::i18n::{Language, Msg, Notice};
use crate::model::io::atomic::write_atomic;
use crate::state::export::encode_png;
use crate::state::file_dialog::run_dialog;
use crate::state::jobs::JobEvent;
use crate::state::{
    AppState, Command, ExportFormat, FilePurpose, LessonRun, Settings, ViewKind, models, save_name,
};
use crate::views::lesson_panel::{self, LESSON_SETTINGS_KEY, LessonPanel};
use crate::views::{self, ViewContext};

/// When [`run`] was entered (the start of the start-up measurement).
static PROCESS_START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Key under which settings are stored in eframe's storage.
pub const SETTINGS_KEY: &str = "residual-explorer-settings";

/// Something that drives the app from outside, frame by frame (the screenshot command).
pub trait Script {
    /// Called before drawing; returns commands to apply this frame.
    fn before_frame(&mut self, ctx: &Context, state: &AppState) -> Vec<Command>;
    /// Called after drawing and applying commands; `view_rect` is where the view was drawn.
    fn after_frame(&mut self, ctx: &Context, state: &AppState, view_rect: Option<Rect>);
}

/// How the app starts.
#[derive(Default)]
pub struct AppOptions {
    /// A model to open (instead of the last one, or the embedded default).
    pub model: Option<PathBuf>,
    /// Restore settings from eframe's storage (off for scripted runs).
    pub restore_settings: bool,
    /// Print the time to the first frame on stderr.
    pub log_first_frame: bool,
    /// Drives the app (screenshots).
    pub script: Option<Box<dyn Script>>,
    /// Settings to start from when not restored.
    pub settings: Option<Settings>,
    /// The lesson panel's settings to start from (language, open lesson, first-start offer).
    pub lessons: Option<crate::lesson::player::LessonSettings>,
}

/// The explorer window.
pub struct ExplorerApp {
    /// Everything shown and remembered.
    pub state: AppState,
    /// The lesson panel (its settings are stored under [`LESSON_SETTINGS_KEY`]).
    pub lessons: LessonPanel,
    prompt_buffer: String,
    commands: Vec<Command>,
    view_rect: Option<Rect>,
    applied_zoom: Option<f32>,
    applied_dark: Option<bool>,
    started: Instant,
    log_first_frame: bool,
    frames: u64,
    logged_first_views: bool,
    script: Option<Box<dyn Script>>,
}

impl ExplorerApp {
    /// Builds the app inside eframe (or a test harness), restoring settings from eframe's
    /// storage when `options.restore_settings` says so.
    pub fn new(cc: &eframe::CreationContext<'_>, mut options: AppOptions) -> Self {
        if options.restore_settings
            && let Some(json) = cc.storage.and_then(|s| s.get_string(SETTINGS_KEY))
        {
            options.settings = Some(Settings::from_json(&json));
        }
        if options.restore_settings
            && let Some(json) = cc.storage.and_then(|s| s.get_string(LESSON_SETTINGS_KEY))
        {
            options.lessons = Some(LessonPanel::settings_from_json(&json));
        }
        Self::with_context(&cc.egui_ctx, options)
    }

    /// Builds the app on an egui context (what [`ExplorerApp::new`] and the frame benchmark
    /// use). The embedded model opens at once; any other model loads in the background.
    pub fn with_context(ctx: &Context, mut options: AppOptions) -> Self {
        ctx.set_fonts(crate::widgets::fonts::font_definitions());
        let repaint = ctx.clone();
        // At least a millisecond: egui paints two frames for an immediate request, and a
        // worker's result needs one (under a software renderer each frame costs the worker
        // CPU time).
        let wake = crate::state::Waker::new(move |within| {
            repaint.request_repaint_after(within.max(std::time::Duration::from_millis(1)))
        });
        let settings = options.settings.unwrap_or_default();
        let open_at_start = options.model.clone().or(settings.last_model.clone());
        let mut state = AppState::new(models::default_model(), settings, wake);
        if let Some(path) = open_at_start {
            state.apply(Command::OpenModel(path));
        }
        let mut lesson_settings = options.lessons.take().unwrap_or_default();
        // A model named on the command line wins over the lesson restored from the settings
        // (whose step would open the lesson's own model): the lesson is left, with a notice.
        if let Some(path) = &options.model
            && let Some((number, _)) = lesson_settings.position.take()
        {
            state.note_on_open(Notice::LessonLeftForModel.with(&[&number, &path.display()]));
        }
        state.lesson = LessonRun::new(&lesson_settings);
        // A real start (settings restored, no script) offers lesson 1 the first time.
        let offer_welcome = options.restore_settings && options.script.is_none();
        Self {
            lessons: LessonPanel::new(&lesson_settings, &state.lesson, offer_welcome),
            prompt_buffer: state.settings.prompt.clone(),
            state,
            commands: Vec::new(),
            view_rect: None,
            applied_zoom: None,
            applied_dark: None,
            started: *PROCESS_START.get_or_init(Instant::now),
            log_first_frame: options.log_first_frame,
            frames: 0,
            logged_first_views: false,
            script: options.script,
        }
    }

    /// Opens lesson `number` at `step` in the lesson panel, as its list does.
    pub fn open_lesson(&mut self, number: u32, step: usize) {
        self.lessons.open(number, step, &mut self.commands);
    }

    /// The lesson panel's settings as stored between sessions (JSON).
    pub fn lesson_settings_json(&self) -> String {
        self.lessons.settings_json(&self.state.lesson)
    }

    /// Opens a model file or folder: what the "Open model…" dialog calls with its path.
    pub fn open_model(&mut self, path: PathBuf) {
        self.state.apply(Command::OpenModel(path));
    }

    /// Draws one frame (everything but eframe's window plumbing: the benchmark calls this).
    pub fn draw_ui(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        self.state.poll_jobs();
        self.state.advance_lesson();
        if self.state.lesson.is_setting_up() {
            // Frames go on until the step is set up, whether or not the panel is drawn.
            ctx.request_repaint();
        }
        if self.state.loading.is_some() {
            // The progress bar moves without an event (a few frames a second suffice).
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        self.follow_keyboard_zoom(&ctx);
        if let Some(script) = &mut self.script {
            let commands = script.before_frame(&ctx, &self.state);
            self.commands.extend(commands);
        }
        self.keyboard_commands(&ctx);
        self.prompt_buffer.clone_from(&self.state.settings.prompt);

        let mut commands = std::mem::take(&mut self.commands);
        egui::Panel::top("top bar").show(ui, |ui| {
            views::top_bar::top_bar_ui(ui, &self.state, &mut commands);
            if let Some(message) = &self.state.error {
                let message = message.text(self.state.lesson.player.language);
                views::top_bar::error_banner_ui(ui, &self.state, &message, &mut commands);
            }
        });
        egui::Panel::top("prompt and stage").show(ui, |ui| {
            ui.add_space(2.0);
            views::prompt_bar::prompt_bar_ui(
                ui,
                &self.state,
                &mut self.prompt_buffer,
                &mut commands,
            );
            if let Some(analysis) = &self.state.analysis {
                views::stage_bar::stage_bar_ui(
                    ui,
                    &analysis.stages,
                    &analysis.model.params.config,
                    self.state.selection.stage,
                    self.state.lesson.player.language,
                    &mut commands,
                );
            }
            ui.add_space(2.0);
        });
        egui::Panel::bottom("experiments").show(ui, |ui| {
            ui.add_space(2.0);
            views::timeline::timeline_bar_ui(ui, &self.state, &mut commands);
            views::interventions::interventions_bar_ui(ui, &self.state, &mut commands);
            ui.add_space(2.0);
        });
        if self.lessons.visible {
            // At most half the window, so the views always keep room.
            let max_width = (ui.available_width() * 0.5).max(300.0);
            egui::Panel::right("lessons")
                .resizable(true)
                .default_size(380.0_f32.min(max_width))
                .max_size(max_width)
                .show(ui, |ui| self.lessons.ui(ui, &self.state, &mut commands));
        }
        let (lessons_visible, language) = (self.lessons.visible, self.state.lesson.player.language);
        let central = egui::CentralPanel::default().show(ui, |ui| {
            // The tabs wrap onto a second line when the window (or the zoom) leaves too
            // little room, rather than running under the lesson panel.
            let toggle_lessons = ui
                .horizontal_wrapped(|ui| {
                    tabs_ui(ui, language, self.state.settings.view, &mut commands);
                    ui.separator();
                    let toggle = lesson_panel::toggle_ui(ui, lessons_visible, language);
                    lesson_panel::language_ui(ui, language, &mut commands);
                    toggle
                })
                .inner;
            ui.separator();
            let view_rect = ui.available_rect_before_wrap();
            self.view_ui(ui, &mut commands);
            (view_rect, toggle_lessons)
        });
        let (view_rect, toggle_lessons) = central.inner;
        self.view_rect = Some(view_rect);
        if toggle_lessons {
            self.lessons.visible = !self.lessons.visible;
        }

        // The lens view reports its rows on screen every frame while the lens fills; only a
        // new report is a change (repainting for the same one kept the window drawing at
        // 60 frames a second and took a core from the worker filling the lens).
        let changed = commands.iter().any(|command| {
            !matches!(command, Command::ShowLensRows(rows) if *rows == self.state.lens_rows_on_screen)
        });
        for command in commands {
            self.state.apply(command);
        }
        if changed {
            ctx.request_repaint();
        }
        self.sync_context(&ctx);
        self.carry_out_requests(&ctx);
        if let Some(script) = &mut self.script {
            script.after_frame(&ctx, &self.state, self.view_rect);
        }
        self.frames += 1;
        if self.log_first_frame {
            let ms = self.started.elapsed().as_secs_f64() * 1000.0;
            if self.frames == 1 {
                eprintln!("first frame drawn {ms:.1} ms after the GUI started");
            }
            if !self.logged_first_views && self.state.analysis.is_some() {
                self.logged_first_views = true;
                eprintln!("first frame with the views drawn {ms:.1} ms after the GUI started");
            }
        }
    }

    fn view_ui(&self, ui: &mut Ui, commands: &mut Vec<Command>) {
        match self.state.settings.view {
            ViewKind::Training => {
                return views::training::training_ui(ui, &self.state, commands);
            }
            ViewKind::Patching => return views::patching::patching_ui(ui, &self.state, commands),
            _ => {}
        }
        let Some(analysis) = &self.state.analysis else {
            let language = self.state.lesson.player.language;
            ui.horizontal(|ui| match &self.state.trace_error {
                Some(message) => {
                    ui.label(message.text(language));
                }
                None => {
                    crate::widgets::busy_spinner_ui(ui);
                    ui.label(Msg::RunningModel.text(language));
                }
            });
            return;
        };
        let selection = self.state.selection.within(analysis);
        let view = ViewContext {
            analysis,
            selection: &selection,
            settings: &self.state.settings,
            language: self.state.lesson.player.language,
        };
        match self.state.settings.view {
            ViewKind::Circuits => {
                return views::circuits::circuits_ui(ui, &view, &self.state.circuits, commands);
            }
            ViewKind::Features => {
                return views::features::features_ui(ui, &view, &self.state, commands);
            }
            _ => {}
        }
        views::timeline::view_or_side_by_side_ui(ui, &self.state, &view, commands);
    }

    /// ←/→ step the stage when no widget has keyboard focus (a focused slider steps itself).
    fn keyboard_commands(&mut self, ctx: &Context) {
        if ctx.memory(|m| m.focused().is_some()) {
            return;
        }
        let (left, right) = ctx.input(|i| {
            (
                i.key_pressed(egui::Key::ArrowLeft),
                i.key_pressed(egui::Key::ArrowRight),
            )
        });
        if left {
            self.commands.push(Command::StepStage(-1));
        }
        if right {
            self.commands.push(Command::StepStage(1));
        }
    }

    /// Ctrl +/− change egui's zoom directly; keep the setting in step.
    fn follow_keyboard_zoom(&mut self, ctx: &Context) {
        let zoom = ctx.zoom_factor();
        if self.applied_zoom.is_some_and(|applied| applied != zoom) {
            self.state.settings.zoom = zoom.clamp(0.5, 3.0);
            self.applied_zoom = Some(zoom);
        }
    }

    fn sync_context(&mut self, ctx: &Context) {
        let zoom = self.state.settings.zoom;
        if self.applied_zoom != Some(zoom) {
            ctx.set_zoom_factor(zoom);
            self.applied_zoom = Some(zoom);
        }
        let dark = self.state.settings.dark;
        if self.applied_dark != Some(dark) {
            ctx.set_theme(if dark {
                egui::Theme::Dark
            } else {
                egui::Theme::Light
            });
            self.applied_dark = Some(dark);
        }
    }

    /// File dialogs (on their own threads) and exports.
    fn carry_out_requests(&mut self, ctx: &Context) {
        if let Some(purpose) = self.state.dialog_request.take() {
            spawn_file_dialog(purpose, self.state.settings.view, &self.state);
        }
        if let Some((format, path)) = self.state.export_request.take() {
            match format {
                ExportFormat::Png => self.export_png(ctx, path),
                ExportFormat::Csv | ExportFormat::Json => self.export_table(format, path),
            }
        }
    }

    fn export_table(&mut self, format: ExportFormat, path: PathBuf) {
        let table = match self.state.settings.view {
            // These two read the run and the experiment, not the trace.
            ViewKind::Training => self.state.training.history.as_ref().map(|h| h.table()),
            ViewKind::Patching => self.state.patching.outcome.as_ref().map(|o| o.table()),
            ViewKind::Features => self.state.features.open.as_ref().map(|open| {
                let contexts = self.state.features.contexts_of_open();
                views::features::table(open, contexts.and_then(|c| c.as_ref().ok()))
            }),
            ViewKind::Circuits => self
                .state
                .analysis
                .as_ref()
                .and_then(|a| self.state.circuits.latest_for(&a.model))
                .map(|(weights, _)| views::circuits::table(weights)),
            kind => self.state.analysis.as_ref().map(|analysis| {
                let selection = self.state.selection.within(analysis);
                let view = ViewContext {
                    analysis,
                    selection: &selection,
                    settings: &self.state.settings,
                    language: self.state.lesson.player.language,
                };
                views::view_table(kind, &view)
            }),
        };
        let Some(table) = table else {
            self.state.error = Some(
                match self.state.settings.view {
                    ViewKind::Training => Notice::NothingToExportRun,
                    ViewKind::Patching => Notice::NothingToExportPatching,
                    ViewKind::Features => Notice::NothingToExportSae,
                    _ => Notice::NothingToExportTrace,
                }
                .message(),
            );
            return;
        };
        let text = match format {
            ExportFormat::Json => table.to_json(),
            _ => table.to_csv(),
        };
        self.state.jobs.write_file(path, move |path| {
            write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())
        });
    }

    /// Asks eframe for the next frame's pixels and writes the view's part as a PNG.
    fn export_png(&mut self, ctx: &Context, path: PathBuf) {
        let region = self.view_rect;
        let pixels_per_point = ctx.pixels_per_point();
        let sender = self.state.jobs.begin_external_write();
        ctx.request_screenshot(move |image| {
            std::thread::spawn(move || {
                let result = save_region_png(&image, region, pixels_per_point, &path);
                sender.send(JobEvent::FileWritten { path, result });
            });
        });
    }
}

/// Writes `region` (in points; the whole image when `None`) of a screenshot as a PNG.
pub fn save_region_png(
    image: &egui::ColorImage,
    region: Option<Rect>,
    pixels_per_point: f32,
    path: &std::path::Path,
) -> Result<(), String> {
    let full = Rect::from_min_size(
        egui::Pos2::ZERO,
        egui::vec2(image.width() as f32, image.height() as f32) / pixels_per_point,
    );
    let region = region.map_or(full, |r| r.intersect(full));
    let cropped = image.region(&region, Some(pixels_per_point));
    let bytes = encode_png(cropped.width(), cropped.height(), cropped.as_raw())?;
    write_atomic(path, &bytes).map_err(|e| e.to_string())
}

/// The view tabs.
fn tabs_ui(ui: &mut Ui, language: Language, current: ViewKind, commands: &mut Vec<Command>) {
    for kind in ViewKind::ALL {
        let text = egui::RichText::new(kind.title(language)).size(15.0);
        if ui.selectable_label(kind == current, text).clicked() {
            commands.push(Command::ShowView(kind));
        }
    }
}

/// Opens a native file dialog on its own thread (rfd blocks the thread that calls it).
fn spawn_file_dialog(purpose: FilePurpose, view: ViewKind, state: &AppState) {
    let sender = state.jobs.sender();
    let file_name = save_name::save_file_name(&state.model.name, state.training.shown_step);
    let save_folder = save_name::save_folder(state.settings.last_model.as_deref());
    let text = |key: Msg| key.text(state.lesson.player.language);
    let title = text(match purpose {
        FilePurpose::OpenModel => Msg::OpenModelTitle,
        FilePurpose::OpenModelFolder => Msg::OpenFolderTitle,
        FilePurpose::SaveModel => Msg::SaveModelTitle,
        FilePurpose::Export(_) => Msg::ExportTitle,
        FilePurpose::OpenSae => Msg::OpenSaeTitle,
        FilePurpose::SaveSae => Msg::SaveSaeTitle,
    });
    let (models, native) = (text(Msg::ModelFiles), text(Msg::NativeModel));
    std::thread::spawn(move || {
        let dialog = rfd::FileDialog::new().set_title(title);
        let path = run_dialog(|| match purpose {
            FilePurpose::OpenModel => dialog
                .add_filter(models, &["safetensors", "bin", "json"])
                .pick_file(),
            FilePurpose::OpenModelFolder | FilePurpose::OpenSae | FilePurpose::SaveSae => {
                dialog.pick_folder()
            }
            FilePurpose::SaveModel => match save_folder {
                Some(folder) => dialog.set_directory(folder),
                None => dialog,
            }
            .set_file_name(file_name)
            .add_filter(native, &["safetensors"])
            .save_file(),
            FilePurpose::Export(format) => dialog
                .set_file_name(format!("{}.{}", view.slug(), format.extension()))
                .add_filter(format.extension(), &[format.extension()])
                .save_file(),
        });
        sender.send(JobEvent::PathChosen { purpose, path });
    });
}

impl eframe::App for ExplorerApp {
    fn ui(&mut self, ui: &mut Ui, frame: &mut eframe::Frame) {
        let started = Instant::now();
        self.draw_ui(ui);
        let state = &mut self.state;
        let times = &mut state.training.frame_times;
        let draw = started.elapsed().as_secs_f32();
        times.record(draw, frame.info().cpu_usage);
        if times.shown && draw > 0.016 {
            eprintln!("slow frame: draw took {:.1} ms", draw * 1e3);
        }
        let (view, status) = (state.settings.view, &state.training.status);
        times.log_every(120, || format!("{view:?} view, training {status:?}"));
    }

    /// A scripted run (screenshots) ignores the mouse, so pictures show no hover by chance.
    fn raw_input_hook(&mut self, _ctx: &Context, raw_input: &mut egui::RawInput) {
        if self.script.is_some() {
            ignore_pointer(raw_input);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.script.is_none() {
            storage.set_string(SETTINGS_KEY, self.state.settings.to_json());
            storage.set_string(LESSON_SETTINGS_KEY, self.lesson_settings_json());
        }
    }
}

/// Takes the mouse out of `raw_input` (moves and clicks dropped, the pointer gone), so no
/// hover or tooltip shows: for windows driven by a script that takes screenshots.
pub fn ignore_pointer(raw_input: &mut egui::RawInput) {
    raw_input.events.retain(|event| {
        !matches!(
            event,
            egui::Event::PointerMoved(_)
                | egui::Event::MouseMoved(_)
                | egui::Event::PointerButton { .. }
        )
    });
    raw_input.events.push(egui::Event::PointerGone);
}

/// Window options shared by the GUI and the screenshot command.
pub fn native_options(width: f32, height: f32, persist: bool) -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Residual Explorer")
            .with_inner_size([width, height])
            .with_min_inner_size([900.0, 600.0]),
        persist_window: persist,
        ..Default::default()
    }
}

/// Opens the explorer window with `options` and runs it until it is closed.
pub fn run(options: AppOptions) -> Result<(), eframe::Error> {
    PROCESS_START.get_or_init(Instant::now);
    eframe::run_native(
        "Residual Explorer",
        native_options(1280.0, 800.0, true),
        Box::new(move |cc| Ok(Box::new(ExplorerApp::new(cc, options)))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignoring_the_pointer_keeps_keys_and_drops_the_mouse() {
        let mut input = egui::RawInput {
            events: vec![
                egui::Event::PointerMoved(egui::pos2(10.0, 10.0)),
                egui::Event::Key {
                    key: egui::Key::ArrowRight,
                    physical_key: None,
                    pressed: true,
                    repeat: false,
                    modifiers: egui::Modifiers::NONE,
                },
                egui::Event::MouseMoved(egui::vec2(1.0, 1.0)),
            ],
            ..Default::default()
        };
        ignore_pointer(&mut input);
        assert!(matches!(input.events[0], egui::Event::Key { .. }));
        assert_eq!(input.events[1], egui::Event::PointerGone);
        assert_eq!(input.events.len(), 2);
    }

    #[test]
    fn a_region_of_a_screenshot_is_cropped_in_pixels() {
        // A 4×2 image at 2 pixels per point; the point rect (1,0)-(2,1) is pixels 2..4 × 0..2.
        let pixels = (0..8)
            .map(|i| egui::Color32::from_rgb(i as u8 * 10, 0, 0))
            .collect();
        let image = egui::ColorImage::new([4, 2], pixels);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("view.png");
        let region = Rect::from_min_max(egui::pos2(1.0, 0.0), egui::pos2(2.0, 1.0));
        save_region_png(&image, Some(region), 2.0, &path).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        assert_eq!((info.width, info.height), (2, 2));
        let reds: Vec<u8> = buffer.chunks(4).map(|p| p[0]).collect();
        assert_eq!(reds, vec![20, 30, 60, 70]);
        // A region past the image is clipped to it.
        let past = Rect::from_min_max(egui::pos2(1.0, 0.0), egui::pos2(50.0, 50.0));
        save_region_png(&image, Some(past), 2.0, &path).unwrap();
    }
}
