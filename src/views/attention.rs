//! The attention view: every layer × head pattern as a thumbnail (click to enlarge), the
//! chosen head as a query × key heatmap with token labels, and where the selected query
//! token looks.

use std::sync::Arc;

use egui::{RichText, Ui, vec2};

use super::{ViewContext, heading_ui};
use crate::i18n::{Msg, ViewText};
use crate::model::ops::first_visible_key;
use crate::state::{Command, Table, ViewKind};
use crate::widgets::{
    Bar, ColourScale, Heatmap, bar_list_ui, colour_legend_ui, heatmap_image, heatmap_thumbnail_ui,
    heatmap_ui, set_accessible_name,
};

/// The pattern of `layer`, `head` as a row-major [query_pos, key_pos] matrix, NaN where the
/// mask hides the key (later keys, and keys outside a local layer's window).
pub fn pattern_values(view: &ViewContext<'_>, layer: usize, head: usize) -> Vec<f32> {
    let pattern = &view.analysis.trace.layers[layer].pattern; // [batch, head, query_pos, key_pos]
    let n = view.analysis.n_pos();
    let window = view.config().window(layer);
    let mut values = Vec::with_capacity(n * n);
    for query in 0..n {
        let first = first_visible_key(query, window);
        for key in 0..n {
            values.push(if key > query || key < first {
                f32::NAN
            } else {
                pattern[[0, head, query, key]]
            });
        }
    }
    values
}

/// The narrowest the "where the token looks" column gets (token labels, bars and percents).
pub const WHERE_IT_LOOKS_MIN_WIDTH: f32 = 200.0;

/// Narrowest enlarged pattern worth its column; narrower, the view shows the pattern alone.
const ENLARGED_MIN_WIDTH: f32 = 200.0;

/// Width the layer and head pickers and the colour legend need on one line.
const HEADER_ONE_LINE_WIDTH: f32 = 520.0;

/// The scale every pattern uses: weights from 0 to 1.
const PATTERN_SCALE: ColourScale = ColourScale::Sequential { min: 0.0, max: 1.0 };

/// Draws the attention view.
pub fn attention_ui(ui: &mut Ui, view: &ViewContext<'_>, commands: &mut Vec<Command>) {
    let config = view.config();
    let selection = view.selection;
    let (layer, head) = (selection.layer, selection.head);
    heading_ui(
        ui,
        view.language,
        ViewKind::Attention,
        &ViewText::LayerHead.fill(view.language, &[&layer, &head]),
    );
    // Where the pickers and the legend do not fit one line (a side-by-side half), the
    // legend goes under them.
    let one_line = ui.available_width() >= HEADER_ONE_LINE_WIDTH;
    ui.horizontal(|ui| {
        if let Some(l) = index_picker(ui, Msg::Layer.text(view.language), config.n_layers, layer) {
            commands.push(Command::SelectHead { layer: l, head });
        }
        if let Some(h) = index_picker(ui, Msg::Head.text(view.language), config.n_heads, head) {
            commands.push(Command::SelectHead { layer, head: h });
        }
        if one_line {
            ui.separator();
            let caption = ViewText::AttentionWeight.text(view.language);
            colour_legend_ui(ui, view.language, &PATTERN_SCALE, caption, 140.0);
        }
    });
    if !one_line {
        let legend_w = (ui.available_width() - 200.0).clamp(40.0, 140.0);
        let caption = ViewText::AttentionWeight.text(view.language);
        colour_legend_ui(ui, view.language, &PATTERN_SCALE, caption, legend_w);
    }
    ui.add_space(4.0);

    // Each column keeps to its width (the grid and the enlarged pattern scroll inside
    // theirs), so the last one, where the token looks, always has its 200 points or more.
    let height = ui.available_height();
    let width = ui.available_width();
    // The thumbnails get under a quarter: the enlarged pattern needs the room to give every
    // row a cell tall enough for its label (lesson 4's 25 tokens beside the lesson panel).
    // Yet never less than the smallest thumbnails need (up to the old 30 %).
    let smallest_grid = config.n_heads as f32 * (24.0 + 6.0) + 40.0;
    let grid_w = (width * 0.22)
        .max(smallest_grid.min(width * 0.30))
        .min(config.n_heads as f32 * 100.0 + 40.0);
    let bars_w = (width * 0.24).clamp(WHERE_IT_LOOKS_MIN_WIDTH, 320.0);
    // Between the three columns: two separators and the spacing on either side of each.
    let gaps = 4.0 * ui.spacing().item_spacing.x + 2.0 * 6.0;
    let big_w = width - grid_w - bars_w - gaps;
    let column = egui::Layout::top_down(egui::Align::Min);
    if big_w < ENLARGED_MIN_WIDTH {
        // Too narrow for three columns (a side-by-side half beside the lesson panel): the
        // enlarged pattern alone, the layer and head chosen with the pickers above.
        ui.allocate_ui_with_layout(vec2(width, height), column, |ui| {
            enlarged_ui(ui, view, width, commands);
        });
        return;
    }
    ui.horizontal_top(|ui| {
        ui.allocate_ui_with_layout(vec2(grid_w, height), column, |ui| {
            ui.set_min_width(grid_w);
            thumbnails_ui(ui, view, grid_w, commands);
        });
        ui.separator();
        ui.allocate_ui_with_layout(vec2(big_w, height), column, |ui| {
            ui.set_min_width(big_w);
            enlarged_ui(ui, view, big_w, commands);
        });
        ui.separator();
        ui.allocate_ui_with_layout(vec2(bars_w, height), column, |ui| {
            where_it_looks_ui(ui, view, bars_w, commands);
        });
    });
}

/// Every head's pattern as a texture, [layer][head], made once per analysis and theme and
/// kept in egui's memory (the grid then costs one quad per head per frame).
fn thumbnail_textures(ui: &Ui, view: &ViewContext<'_>) -> Arc<Vec<Vec<egui::TextureHandle>>> {
    type Cached = (u64, bool, Arc<Vec<Vec<egui::TextureHandle>>>);
    let dark = ui.visuals().dark_mode;
    let key = view.analysis.serial();
    let id = egui::Id::unique("attention thumbnail textures");
    if let Some((k, d, textures)) = ui.data(|data| data.get_temp::<Cached>(id))
        && k == key
        && d == dark
    {
        return textures;
    }
    let config = view.config();
    let n = view.analysis.n_pos();
    let empty = ui.visuals().faint_bg_color;
    let textures: Vec<Vec<egui::TextureHandle>> = (0..config.n_layers)
        .map(|layer| {
            (0..config.n_heads)
                .map(|head| {
                    let values = pattern_values(view, layer, head);
                    let image = heatmap_image(n, n, &values, &PATTERN_SCALE, dark, empty);
                    ui.ctx().load_texture(
                        format!("pattern L{layer} H{head}"),
                        image,
                        egui::TextureOptions::NEAREST,
                    )
                })
                .collect()
        })
        .collect();
    let textures = Arc::new(textures);
    ui.data_mut(|data| data.insert_temp(id, (key, dark, textures.clone())));
    textures
}

/// Layers × heads grid of small patterns; a click selects the head.
fn thumbnails_ui(ui: &mut Ui, view: &ViewContext<'_>, width: f32, commands: &mut Vec<Command>) {
    let config = view.config();
    let thumb = ((width - 40.0) / config.n_heads as f32 - 6.0).clamp(24.0, 96.0);
    let textures = thumbnail_textures(ui, view);
    let language = view.language;
    ui.label(RichText::new(ViewText::EveryLayerAndHead.text(language)).strong());
    egui::ScrollArea::both()
        .id_salt("thumbnail scroll")
        .show(ui, |ui| {
            // Columns as wide as the thumbnails (egui's default minimum is a button's width).
            egui::Grid::new("thumbnail grid")
                .spacing(vec2(4.0, 4.0))
                .min_col_width(0.0)
                .show(ui, |ui| {
                    ui.label("");
                    let group = config.n_heads / config.kv_heads();
                    for h in 0..config.n_heads {
                        // Grouped-query heads carry the key/value head they share.
                        if group > 1 {
                            ui.label(format!("H{h}·kv{}", h / group));
                        } else {
                            ui.label(format!("H{h}"));
                        }
                    }
                    ui.end_row();
                    for (l, row) in textures.iter().enumerate() {
                        ui.label(format!("L{l}"));
                        for (h, texture) in row.iter().enumerate() {
                            let selected = (l, h) == (view.selection.layer, view.selection.head);
                            let stroke = if selected {
                                ui.visuals().selection.stroke
                            } else {
                                egui::Stroke::NONE
                            };
                            egui::Frame::new()
                                .stroke(stroke)
                                .inner_margin(1.0)
                                .show(ui, |ui| {
                                    let response = heatmap_thumbnail_ui(
                                        ui,
                                        &ViewText::ThumbnailName.fill(language, &[&l, &h]),
                                        texture,
                                        vec2(thumb, thumb),
                                    )
                                    .on_hover_text(
                                        ViewText::ThumbnailHover.fill(language, &[&l, &h]),
                                    );
                                    if response.clicked() {
                                        commands.push(Command::SelectHead { layer: l, head: h });
                                    }
                                });
                        }
                        ui.end_row();
                    }
                });
        });
}

/// The selected head's pattern, large, with labels; a click selects the query token.
fn enlarged_ui(ui: &mut Ui, view: &ViewContext<'_>, width: f32, commands: &mut Vec<Command>) {
    let (layer, head) = (view.selection.layer, view.selection.head);
    let n = view.analysis.n_pos();
    let labels = view.token_labels();
    let values = pattern_values(view, layer, head);
    let language = view.language;
    ui.label(RichText::new(ViewText::QueriesByKeys.fill(language, &[&layer, &head])).strong());
    let config = view.config();
    if let Some(window) = config.window(layer) {
        ui.label(ViewText::LocalLayer.fill(language, &[&window]));
    }
    if config.kv_heads() != config.n_heads {
        let group = config.n_heads / config.kv_heads();
        let kv = head / group;
        let (first, last) = (kv * group, kv * group + group - 1);
        ui.label(ViewText::SharesKeyValueHead.fill(language, &[&kv, &first, &last]));
    }
    let window = config.window(layer);
    // The cells fill the room the labels leave, in the column's width and the height left
    // under the headings (not a fixed guess at the labels' size, which left lesson 4's 25
    // rows too small to label each one).
    let labels_room = Heatmap::new(String::new(), n, n, &values, PATTERN_SCALE)
        .row_labels(&labels)
        .col_labels(&labels)
        .label_room(ui);
    let room = vec2(
        width.min(ui.available_width()) - labels_room.x,
        ui.available_height() - labels_room.y - 8.0,
    );
    let cell = (room.x.min(room.y) / n as f32).clamp(3.0, 36.0);
    let show_numbers = cell >= 30.0;
    let text = |row: usize, col: usize| {
        let v = values[row * n + col];
        (show_numbers && v.is_finite()).then(|| format!("{v:.2}"))
    };
    let hover = |row: usize, col: usize| {
        let v = values[row * n + col];
        if v.is_finite() {
            ViewText::QueryToKey.fill(
                language,
                &[
                    &row,
                    &view.analysis.token_text(row),
                    &col,
                    &view.analysis.token_text(col),
                    &format!("{v:.4}"),
                ],
            )
        } else if col > row {
            ViewText::MaskedLater.fill(language, &[&row, &col])
        } else {
            ViewText::MaskedOutsideWindow.fill(language, &[&col, &row, &window.unwrap_or(0)])
        }
    };
    egui::ScrollArea::both()
        .id_salt("enlarged scroll")
        .show(ui, |ui| {
            let heatmap = Heatmap::new(
                ViewText::PatternName.fill(language, &[&layer, &head]),
                n,
                n,
                &values,
                PATTERN_SCALE,
            )
            .cell_size(vec2(cell, cell))
            .row_labels(&labels)
            .col_labels(&labels)
            .cell_text(&text)
            .hover_text(&hover)
            .highlight(Some(view.selection.token), None, None);
            let response = heatmap_ui(ui, &heatmap);
            if let Some((row, _)) = response.clicked {
                commands.push(Command::SelectToken(row));
            }
        });
}

/// Bars of the selected query token's weights over the keys it can see.
fn where_it_looks_ui(ui: &mut Ui, view: &ViewContext<'_>, width: f32, commands: &mut Vec<Command>) {
    let (layer, head, query) = (
        view.selection.layer,
        view.selection.head,
        view.selection.token,
    );
    let pattern = &view.analysis.trace.layers[layer].pattern;
    let language = view.language;
    let heading =
        ViewText::WhereTokenLooks.fill(language, &[&query, &view.analysis.token_text(query)]);
    ui.label(RichText::new(heading).strong());
    // The keys the query can see: the earlier ones, within a local layer's window.
    let first = first_visible_key(query, view.config().window(layer));
    let bars: Vec<Bar> = (first..=query)
        .map(|key| {
            let weight = pattern[[0, head, query, key]];
            Bar {
                label: format!("{key} ‘{}’", view.analysis.token_text(key)),
                value: weight,
                text: Some(format!("{:.1}%", 100.0 * weight)),
            }
        })
        .collect();
    let strongest = bars
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.value.total_cmp(&b.1.value))
        .map(|(i, _)| i);
    egui::ScrollArea::vertical()
        .id_salt("where it looks scroll")
        .show(ui, |ui| {
            let clicked = bar_list_ui(
                ui,
                ViewText::WhereSelectedLooks.text(language),
                &bars,
                strongest,
                (width - 150.0).max(60.0),
                18.0,
            );
            if let Some(index) = clicked {
                commands.push(Command::SelectToken(first + index));
            }
        });
}

/// Every unmasked attention weight of every head, one row each, for export.
pub fn table(view: &ViewContext<'_>) -> Table {
    let mut table = Table::new(&[
        "layer",
        "head",
        "query_pos",
        "query_token",
        "key_pos",
        "key_token",
        "weight",
    ]);
    let n = view.analysis.n_pos();
    for (layer, lt) in view.analysis.trace.layers.iter().enumerate() {
        for head in 0..view.config().n_heads {
            for query in 0..n {
                for key in 0..=query {
                    table.push(vec![
                        layer.into(),
                        head.into(),
                        query.into(),
                        view.analysis.token_text(query).into(),
                        key.into(),
                        view.analysis.token_text(key).into(),
                        lt.pattern[[0, head, query, key]].into(),
                    ]);
                }
            }
        }
    }
    table
}

/// A labelled drop-down of "`name` 0" … "`name` count−1" (its accessible name is `name`);
/// returns the index picked this frame.
fn index_picker(ui: &mut Ui, name: &str, count: usize, selected: usize) -> Option<usize> {
    ui.label(name);
    let mut picked = None;
    let combo = egui::ComboBox::from_id_salt(format!("{name} picker"))
        .selected_text(format!("{name} {selected}"))
        .show_ui(ui, |ui| {
            for i in 0..count {
                if ui
                    .selectable_label(i == selected, format!("{name} {i}"))
                    .clicked()
                {
                    picked = Some(i);
                }
            }
        });
    set_accessible_name(&combo.response, name);
    picked
}
