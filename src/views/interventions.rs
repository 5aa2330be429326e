//! The interventions bar (at the bottom of every view): the active patches, each with a
//! button that removes it, a quick "zero the selected head", and a menu that adds any patch
//! — zero, scale or mean-ablate a head, a layer's attention or MLP, or zero a residual
//! connection. Every view redraws from the patched model as soon as the list changes.

use egui::{DragValue, Ui};

use crate::i18n::{Language, Msg};
use crate::interp::interventions::{Component, Patch, PatchAction};
use crate::model::ModelConfig;
use crate::state::experiments::InterventionCommand;
use crate::state::{AppState, Command};
use crate::widgets::set_accessible_name;

/// Which component the add menu builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum ComponentKind {
    #[default]
    Head,
    Attn,
    Mlp,
    AttnResidual,
    MlpResidual,
}

impl ComponentKind {
    const ALL: [ComponentKind; 5] = [
        ComponentKind::Head,
        ComponentKind::Attn,
        ComponentKind::Mlp,
        ComponentKind::AttnResidual,
        ComponentKind::MlpResidual,
    ];

    fn label(self) -> Msg {
        match self {
            ComponentKind::Head => Msg::OneHead,
            ComponentKind::Attn => Msg::EveryHead,
            ComponentKind::Mlp => Msg::OneMlp,
            ComponentKind::AttnResidual => Msg::AttnResidual,
            ComponentKind::MlpResidual => Msg::MlpResidual,
        }
    }
}

/// What the add menu does to the component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum ActionKind {
    #[default]
    Zero,
    Scale,
    Mean,
}

/// The add menu's values, kept in egui's memory between frames.
#[derive(Clone, Copy, Debug, PartialEq)]
struct AddForm {
    kind: ComponentKind,
    action: ActionKind,
    layer: usize,
    head: usize,
    factor: f32,
}

impl Default for AddForm {
    fn default() -> Self {
        Self {
            kind: ComponentKind::Head,
            action: ActionKind::Zero,
            layer: 0,
            head: 0,
            factor: 0.5,
        }
    }
}

impl AddForm {
    fn patch(&self) -> Patch {
        let layer = self.layer;
        let component = match self.kind {
            ComponentKind::Head => Component::Head {
                layer,
                head: self.head,
            },
            ComponentKind::Attn => Component::Attn { layer },
            ComponentKind::Mlp => Component::Mlp { layer },
            ComponentKind::AttnResidual => Component::AttnResidual { layer },
            ComponentKind::MlpResidual => Component::MlpResidual { layer },
        };
        let action = match self.action {
            ActionKind::Zero => PatchAction::Zero,
            ActionKind::Scale => PatchAction::Scale(self.factor),
            ActionKind::Mean => PatchAction::MeanOverPrompt,
        };
        Patch { component, action }
    }
}

/// Draws the bar.
pub fn interventions_bar_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    let language = state.lesson.player.language;
    let text = |key: Msg| key.text(language);
    ui.horizontal_wrapped(|ui| {
        ui.label(text(Msg::Interventions));
        if state.model_edited {
            edited_chip_ui(ui, state, commands);
        } else if state.interventions.is_empty() {
            ui.weak(text(Msg::NoInterventions));
        }
        let mut send = |command| commands.push(Command::Intervention(command));
        for (index, label) in state.interventions.labels().into_iter().enumerate() {
            let response = ui
                .button(format!("{label}  ×"))
                .on_hover_text(text(Msg::RemoveThis));
            set_accessible_name(&response, Msg::RemoveNamed.fill(language, &[&label]));
            if response.clicked() {
                send(InterventionCommand::Remove(index));
            }
        }
        let config = &state.model.params.config;
        let selection = &state.selection;
        let (layer, head) = (
            selection.layer.min(config.n_layers - 1),
            selection.head.min(config.n_heads - 1),
        );
        let selected = Component::Head { layer, head };
        if state.interventions.get(selected).is_none()
            && ui
                .button(Msg::ZeroNamed.fill(language, &[&selected.label()]))
                .on_hover_text(text(Msg::ZeroSelectedHead))
                .clicked()
        {
            send(InterventionCommand::Add(Patch::zero(selected)));
        }
        // The form stays open while it is filled in; "Add" closes it.
        let keep_open = egui::containers::menu::MenuConfig::new()
            .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
        egui::containers::menu::MenuButton::new(text(Msg::AddIntervention))
            .config(keep_open)
            .ui(ui, |ui| add_menu_ui(ui, language, config, &mut send));
        if !state.interventions.is_empty() && ui.button(text(Msg::RemoveAll)).clicked() {
            send(InterventionCommand::Clear);
        }
    });
}

/// The "edited" chip: the model's weights were changed in place (lesson 1's additions
/// editor), so it runs differently from its file although no patch is active. Clicking it
/// reads the file again.
fn edited_chip_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    let language = state.lesson.player.language;
    let hover = Msg::EditedHover.text(language);
    let edited = Msg::Edited.text(language);
    match &state.model.source {
        Some(source) => {
            let response = ui
                .button(format!("{edited}  ×"))
                .on_hover_text(Msg::EditedReread.fill(language, &[&hover]));
            set_accessible_name(&response, Msg::UndoEdits.text(language));
            if response.clicked() {
                commands.push(Command::OpenModel(source.clone()));
            }
        }
        None => {
            ui.label(edited).on_hover_text(hover);
        }
    }
}

fn add_menu_ui(
    ui: &mut Ui,
    language: Language,
    config: &ModelConfig,
    send: &mut impl FnMut(InterventionCommand),
) {
    let text = |key: Msg| key.text(language);
    let id = ui.scope_id().with("add intervention form");
    let mut form = ui.data(|d| d.get_temp::<AddForm>(id)).unwrap_or_default();
    for kind in ComponentKind::ALL {
        let fits =
            !config.attn_only || !matches!(kind, ComponentKind::Mlp | ComponentKind::MlpResidual);
        if fits {
            ui.radio_value(&mut form.kind, kind, text(kind.label()));
        }
    }
    ui.horizontal(|ui| {
        let label = ui.label(text(Msg::Layer));
        ui.add(DragValue::new(&mut form.layer).range(0..=config.n_layers - 1))
            .labelled_by(label.id);
        if form.kind == ComponentKind::Head {
            let label = ui.label(text(Msg::Head));
            ui.add(DragValue::new(&mut form.head).range(0..=config.n_heads - 1))
                .labelled_by(label.id);
        }
    });
    ui.horizontal(|ui| {
        ui.selectable_value(&mut form.action, ActionKind::Zero, text(Msg::Zero));
        ui.selectable_value(&mut form.action, ActionKind::Scale, text(Msg::Scale));
        let residual = matches!(
            form.kind,
            ComponentKind::AttnResidual | ComponentKind::MlpResidual
        );
        if !residual {
            ui.selectable_value(&mut form.action, ActionKind::Mean, text(Msg::MeanAblate))
                .on_hover_text(text(Msg::MeanAblateHover));
        } else if form.action == ActionKind::Mean {
            form.action = ActionKind::Zero;
        }
        if form.action == ActionKind::Scale {
            let label = ui.label(text(Msg::Factor));
            ui.add(
                DragValue::new(&mut form.factor)
                    .speed(0.05)
                    .range(-10.0..=10.0),
            )
            .labelled_by(label.id);
        }
    });
    form.layer = form.layer.min(config.n_layers - 1);
    form.head = form.head.min(config.n_heads - 1);
    let patch = form.patch();
    if ui
        .button(Msg::AddNamed.fill(language, &[&patch.label()]))
        .clicked()
    {
        send(InterventionCommand::Add(patch));
        ui.close();
    }
    ui.data_mut(|d| d.insert_temp(id, form));
}
