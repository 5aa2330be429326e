//! Layout checks shared by the GUI layout tests: every labelled widget a student reads or
//! clicks, with its rectangle, and the assertion that no two of them are drawn over each other.

use egui::Rect;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};
use residual_explorer::app::ExplorerApp;

/// Roles of widgets a student reads or clicks (containers are left out: they hold others).
pub const LEAVES: [Role; 10] = [
    Role::Button,
    Role::CheckBox,
    Role::RadioButton,
    Role::Label,
    Role::Slider,
    Role::SpinButton,
    Role::TextInput,
    Role::MultilineTextInput,
    Role::ComboBox,
    Role::Link,
];

/// Every labelled leaf widget with a non-empty rectangle that `keep` accepts, as (label,
/// rectangle).
pub fn labelled_widgets(
    harness: &Harness<'static, ExplorerApp>,
    keep: impl Fn(Rect) -> bool,
) -> Vec<(String, Rect)> {
    harness
        .query_all(By::new().predicate(|node| LEAVES.contains(&node.role())))
        .filter_map(|node| {
            let node_ak = node.accesskit_node();
            let label = node_ak.label().or_else(|| node_ak.value())?;
            let rect = node.rect();
            (!label.is_empty() && rect.area() > 0.0 && keep(rect)).then_some((label, rect))
        })
        .collect()
}

/// Panics with the first two of `widgets` drawn over each other (touching edges are fine).
pub fn assert_pairwise_apart(widgets: &[(String, Rect)], what: &str) {
    for (i, (a, ra)) in widgets.iter().enumerate() {
        for (b, rb) in &widgets[i + 1..] {
            let overlap = ra.intersect(*rb);
            assert!(
                !overlap.is_positive() || overlap.area() < 1.0,
                "{what}: {a:?} at {ra:?} and {b:?} at {rb:?} overlap"
            );
        }
    }
}
