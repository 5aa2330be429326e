//! A heatmap of a row-major matrix: optional row and column labels, optional text in each
//! cell, hover and click reporting, highlighted row/column/cell (scrolled into view on
//! request). NaN cells are drawn empty
//! (used for the causal mask). Cells are drawn as one mesh, so thousands stay cheap.

use egui::{
    Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Stroke, Ui, Vec2, pos2, vec2,
};

use super::colour::{ColourScale, text_on};

/// The font of the texts drawn inside cells `cell_height` tall.
pub fn cell_font(cell_height: f32) -> FontId {
    FontId::proportional((cell_height * 0.58).clamp(8.0, 13.0))
}

/// The width of the widest of `texts` drawn inside cells `cell_height` tall, plus a margin:
/// the cell width at which none is clipped.
pub fn cell_text_width(ui: &Ui, cell_height: f32, texts: impl Iterator<Item = String>) -> f32 {
    let font = cell_font(cell_height);
    texts
        .map(|text| {
            ui.painter()
                .layout_no_wrap(text, font.clone(), Color32::WHITE)
                .size()
                .x
        })
        .fold(0.0f32, f32::max)
        + 8.0
}

/// A heatmap to draw; build with [`Heatmap::new`] and the setters, draw with [`heatmap_ui`].
pub struct Heatmap<'a> {
    name: String,
    rows: usize,
    cols: usize,
    values: &'a [f32],
    scale: ColourScale,
    cell: Vec2,
    row_labels: Option<&'a [String]>,
    col_labels: Option<&'a [String]>,
    cell_text: Option<&'a dyn Fn(usize, usize) -> Option<String>>,
    hover_text: Option<&'a dyn Fn(usize, usize) -> String>,
    highlight_row: Option<usize>,
    highlight_col: Option<usize>,
    highlight_cell: Option<(usize, usize)>,
    label_font: f32,
    scroll_to_highlight: bool,
}

/// What happened to a heatmap this frame.
pub struct HeatmapResponse {
    /// The whole widget.
    pub response: egui::Response,
    /// The cell under the pointer, as (row, col).
    pub hovered: Option<(usize, usize)>,
    /// The cell clicked this frame.
    pub clicked: Option<(usize, usize)>,
    /// The rows at least partly inside the visible (clipped) area.
    pub visible_rows: std::ops::Range<usize>,
}

impl<'a> Heatmap<'a> {
    /// A heatmap named `name` (its accessible name) of `values` [rows, cols], row-major.
    pub fn new(
        name: impl Into<String>,
        rows: usize,
        cols: usize,
        values: &'a [f32],
        scale: ColourScale,
    ) -> Self {
        assert_eq!(values.len(), rows * cols, "values must be rows × cols");
        Self {
            name: name.into(),
            rows,
            cols,
            values,
            scale,
            cell: vec2(16.0, 16.0),
            row_labels: None,
            col_labels: None,
            cell_text: None,
            hover_text: None,
            highlight_row: None,
            highlight_col: None,
            highlight_cell: None,
            scroll_to_highlight: false,
            label_font: 12.0,
        }
    }

    /// Size of one cell in points.
    pub fn cell_size(mut self, cell: Vec2) -> Self {
        self.cell = cell;
        self
    }

    /// Labels drawn left of the rows.
    pub fn row_labels(mut self, labels: &'a [String]) -> Self {
        self.row_labels = Some(labels);
        self
    }

    /// Labels drawn above the columns (turned vertical).
    pub fn col_labels(mut self, labels: &'a [String]) -> Self {
        self.col_labels = Some(labels);
        self
    }

    /// Text printed inside each cell (`None` for an empty cell).
    pub fn cell_text(mut self, text: &'a dyn Fn(usize, usize) -> Option<String>) -> Self {
        self.cell_text = Some(text);
        self
    }

    /// Tooltip of the hovered cell.
    pub fn hover_text(mut self, text: &'a dyn Fn(usize, usize) -> String) -> Self {
        self.hover_text = Some(text);
        self
    }

    /// Outlines a row, a column and a cell.
    pub fn highlight(
        mut self,
        row: Option<usize>,
        col: Option<usize>,
        cell: Option<(usize, usize)>,
    ) -> Self {
        self.highlight_row = row;
        self.highlight_col = col;
        self.highlight_cell = cell;
        self
    }

    /// Font size of the labels.
    pub fn label_font(mut self, size: f32) -> Self {
        self.label_font = size;
        self
    }

    /// Scroll the enclosing scroll area so the highlighted row (at the highlighted column, if
    /// any) is in view. Ask for it only when the highlight changes, or the user can never
    /// scroll away from it.
    pub fn scroll_to_highlight(mut self, scroll: bool) -> Self {
        self.scroll_to_highlight = scroll;
        self
    }

    /// Room the labels take: the row labels' width and the column labels' height.
    pub fn label_room(&self, ui: &Ui) -> Vec2 {
        vec2(
            self.label_extent(ui, self.row_labels),
            self.label_extent(ui, self.col_labels),
        )
    }

    fn label_extent(&self, ui: &Ui, labels: Option<&[String]>) -> f32 {
        let Some(labels) = labels else { return 0.0 };
        let font = FontId::proportional(self.label_font);
        let widest = labels
            .iter()
            .map(|l| {
                ui.painter()
                    .layout_no_wrap(l.clone(), font.clone(), Color32::WHITE)
                    .size()
                    .x
            })
            .fold(0.0f32, f32::max);
        widest.min(140.0) + 6.0
    }
}

/// Every how many labels one is drawn, so labels never overlap.
fn label_stride(cell: f32, font: f32) -> usize {
    ((font + 2.0) / cell.max(0.1)).ceil().max(1.0) as usize
}

/// Draws `heatmap` and reports hover and click.
pub fn heatmap_ui(ui: &mut Ui, heatmap: &Heatmap<'_>) -> HeatmapResponse {
    let dark = ui.visuals().dark_mode;
    let left = heatmap.label_extent(ui, heatmap.row_labels);
    let top = heatmap.label_extent(ui, heatmap.col_labels);
    let grid_size = vec2(
        heatmap.cols as f32 * heatmap.cell.x,
        heatmap.rows as f32 * heatmap.cell.y,
    );
    let (rect, response) = ui.allocate_exact_size(vec2(left, top) + grid_size, Sense::click());
    let grid = Rect::from_min_size(rect.min + vec2(left, top), grid_size);
    let cell_rect = |row: usize, col: usize| {
        Rect::from_min_size(
            grid.min + vec2(col as f32 * heatmap.cell.x, row as f32 * heatmap.cell.y),
            heatmap.cell,
        )
    };
    let painter = ui.painter_at(rect.expand(2.0));
    let gap = if heatmap.cell.x >= 6.0 { 0.5 } else { 0.0 };

    // Cells: one mesh. Empty (NaN) cells get only a faint outline.
    let mut mesh = egui::Mesh::default();
    mesh.reserve_vertices(heatmap.values.len() * 4);
    mesh.reserve_triangles(heatmap.values.len() * 2);
    let empty = ui.visuals().faint_bg_color;
    for row in 0..heatmap.rows {
        for col in 0..heatmap.cols {
            let value = heatmap.values[row * heatmap.cols + col];
            let colour = if value.is_finite() {
                heatmap.scale.colour(value, dark)
            } else {
                empty
            };
            mesh.add_colored_rect(cell_rect(row, col).shrink(gap), colour);
        }
    }
    painter.add(mesh);

    if let Some(text) = heatmap.cell_text {
        let font = cell_font(heatmap.cell.y);
        // Only the cells in view get their text made and laid out: a real model's lens has
        // thousands of cells (69 tokens × 49 stages), and doing all of them every frame made
        // frames take 17–26 ms.
        let clip = ui.clip_rect();
        for row in 0..heatmap.rows {
            for col in 0..heatmap.cols {
                let rect = cell_rect(row, col);
                if !clip.intersects(rect) {
                    continue;
                }
                let value = heatmap.values[row * heatmap.cols + col];
                if let Some(label) = text(row, col) {
                    let colour = text_on(heatmap.scale.colour(value, dark));
                    let galley = painter.layout_no_wrap(label, font.clone(), colour);
                    // A text wider than its cell keeps its start (the token) and is clipped
                    // at the cell's edge, never over its neighbours; views size their cells
                    // with `cell_text_width` so this is the exception.
                    let left = if galley.size().x + 4.0 <= rect.width() {
                        rect.center().x - galley.size().x / 2.0
                    } else {
                        rect.left() + 2.0
                    };
                    let top = rect.center().y - galley.size().y / 2.0;
                    painter.with_clip_rect(rect.shrink(1.0)).galley(
                        egui::pos2(left, top),
                        galley,
                        colour,
                    );
                }
            }
        }
    }

    let font = FontId::proportional(heatmap.label_font);
    let text_colour = ui.visuals().text_color();
    if let Some(labels) = heatmap.row_labels {
        let stride = label_stride(heatmap.cell.y, heatmap.label_font);
        for (row, label) in labels.iter().enumerate().take(heatmap.rows) {
            if row % stride == 0 || Some(row) == heatmap.highlight_row {
                let pos = Pos2::new(grid.left() - 4.0, cell_rect(row, 0).center().y);
                painter.text(pos, Align2::RIGHT_CENTER, label, font.clone(), text_colour);
            }
        }
    }
    let strong = Stroke::new(2.0, ui.visuals().strong_text_color());
    if let Some(row) = heatmap.highlight_row.filter(|&r| r < heatmap.rows) {
        let band = Rect::from_min_max(cell_rect(row, 0).min, cell_rect(row, heatmap.cols - 1).max);
        painter.rect_stroke(band, CornerRadius::ZERO, strong, egui::StrokeKind::Outside);
    }
    if let Some(col) = heatmap.highlight_col.filter(|&c| c < heatmap.cols) {
        let band = Rect::from_min_max(cell_rect(0, col).min, cell_rect(heatmap.rows - 1, col).max);
        painter.rect_stroke(band, CornerRadius::ZERO, strong, egui::StrokeKind::Outside);
    }
    if let Some((row, col)) = heatmap.highlight_cell
        && row < heatmap.rows
        && col < heatmap.cols
    {
        let accent = Stroke::new(2.5, ui.visuals().selection.stroke.color);
        painter.rect_stroke(
            cell_rect(row, col),
            CornerRadius::ZERO,
            accent,
            egui::StrokeKind::Outside,
        );
    }

    // Column labels stay in sight: when a scroll area has moved the top of the grid out of
    // view, they are drawn on a band at the top of what is visible (over the cells).
    let header_shift =
        (ui.clip_rect().top() - rect.top()).clamp(0.0, (grid.height() - heatmap.cell.y).max(0.0));
    if let Some(labels) = heatmap.col_labels {
        if header_shift > 0.0 {
            let band = Rect::from_min_size(
                pos2(rect.left(), rect.top() + header_shift),
                vec2(rect.width(), top),
            );
            painter.rect_filled(band, CornerRadius::ZERO, ui.visuals().panel_fill);
        }
        let stride = label_stride(heatmap.cell.x, heatmap.label_font);
        for (col, label) in labels.iter().enumerate().take(heatmap.cols) {
            if col % stride == 0 || Some(col) == heatmap.highlight_col {
                let galley = painter.layout_no_wrap(label.clone(), font.clone(), text_colour);
                let anchor = Pos2::new(
                    cell_rect(0, col).center().x,
                    grid.top() - 4.0 + header_shift,
                );
                // Turned a quarter left about its left-centre: it starts at the grid and
                // reads upwards.
                let half_height = galley.size().y / 2.0;
                let shape = egui::epaint::TextShape::new(
                    anchor - vec2(0.0, half_height),
                    galley,
                    text_colour,
                )
                .with_angle_and_anchor(-std::f32::consts::FRAC_PI_2, Align2::LEFT_CENTER);
                painter.add(shape);
            }
        }
    }

    if heatmap.scroll_to_highlight
        && let Some(row) = heatmap.highlight_row.filter(|&r| r < heatmap.rows)
    {
        let col = heatmap.highlight_col.filter(|&c| c < heatmap.cols);
        // The row's label too when the cell is the first, so the row is recognisable.
        let target = match col {
            Some(col) if col > 0 => cell_rect(row, col),
            _ => cell_rect(row, 0).union(Rect::from_min_size(
                pos2(rect.left(), cell_rect(row, 0).top()),
                vec2(1.0, heatmap.cell.y),
            )),
        };
        // Room above it for the column labels, which stay at the top of the view. At once,
        // not animated: the row is there in the very next frame (and in a screenshot).
        let target = target.union(target.translate(vec2(0.0, -top)));
        ui.scroll_to_rect_animation(target, None, egui::style::ScrollAnimation::none());
    }

    let cell_at = |pos: Pos2| {
        let local = pos - grid.min;
        if local.x < 0.0 || local.y < 0.0 {
            return None;
        }
        let (col, row) = (
            (local.x / heatmap.cell.x) as usize,
            (local.y / heatmap.cell.y) as usize,
        );
        (row < heatmap.rows && col < heatmap.cols).then_some((row, col))
    };
    let hovered = response.hover_pos().and_then(cell_at);
    let clicked = if response.clicked() {
        response.interact_pointer_pos().and_then(cell_at)
    } else {
        None
    };
    if let Some((row, col)) = hovered {
        painter.rect_stroke(
            cell_rect(row, col),
            CornerRadius::ZERO,
            Stroke::new(1.5, ui.visuals().strong_text_color()),
            egui::StrokeKind::Inside,
        );
    }
    let response = match (hovered, heatmap.hover_text) {
        (Some((row, col)), Some(text)) => response.on_hover_ui_at_pointer(|ui| {
            ui.label(text(row, col));
        }),
        _ => response,
    };
    let name = heatmap.name.clone();
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &name));
    let row_at = |y: f32| ((y - grid.top()) / heatmap.cell.y).clamp(0.0, heatmap.rows as f32);
    let clip = ui.clip_rect();
    let visible_rows = row_at(clip.top()).floor() as usize..row_at(clip.bottom()).ceil() as usize;
    HeatmapResponse {
        response,
        hovered,
        clicked,
        visible_rows,
    }
}

/// A heatmap as an image, one pixel per cell (NaN cells take `empty`), for thumbnails that
/// are drawn often and change rarely: upload it once as a texture, then each frame costs one
/// quad instead of one per cell. `values` is [rows, cols], row-major.
pub fn heatmap_image(
    rows: usize,
    cols: usize,
    values: &[f32],
    scale: &ColourScale,
    dark: bool,
    empty: Color32,
) -> egui::ColorImage {
    assert_eq!(values.len(), rows * cols, "values must be rows × cols");
    let pixels = values
        .iter()
        .map(|&v| {
            if v.is_finite() {
                scale.colour(v, dark)
            } else {
                empty
            }
        })
        .collect();
    egui::ColorImage::new([cols, rows], pixels)
}

/// Draws a texture made by [`heatmap_image`] at `size`, pixels kept sharp, clickable, with
/// the accessible name `name`.
pub fn heatmap_thumbnail_ui(
    ui: &mut Ui,
    name: &str,
    texture: &egui::TextureHandle,
    size: Vec2,
) -> egui::Response {
    let response = ui.add(
        egui::Image::new(egui::load::SizedTexture::new(texture.id(), size))
            .fit_to_exact_size(size)
            .sense(Sense::click()),
    );
    super::set_accessible_name(&response, name);
    response
}
