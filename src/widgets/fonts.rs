//! Fonts: egui's defaults plus a 2 KB subset of DejaVu Sans Mono with the symbols the
//! explorer draws that egui's fonts lack (visible whitespace `␣ ⏎ ↵`, `‖`, `◀ ▶`, primes).
//! See assets/fonts/README.md for how the subset is made and its licence.

use std::sync::Arc;

use egui::{FontData, FontDefinitions, FontFamily};

/// The symbol subset, compiled into the binary.
const SYMBOLS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-symbols.ttf");

/// egui's default fonts with the symbol subset as the last fallback of every family.
pub fn font_definitions() -> FontDefinitions {
    let mut fonts = FontDefinitions::default();
    fonts
        .font_data
        .insert("symbols".into(), Arc::new(FontData::from_static(SYMBOLS)));
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts
            .families
            .entry(family)
            .or_default()
            .push("symbols".into());
    }
    fonts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// egui_kittest (and the window) panics on a glyph no font has: every entry of the
    /// interface's string table, in every language, must be drawable.
    #[test]
    fn every_interface_text_has_glyphs() {
        let ctx = egui::Context::default();
        ctx.set_fonts(font_definitions());
        let mut output = ctx.run_ui(egui::RawInput::default(), |_| {});
        output.textures_delta.clear();
        let proportional = egui::FontId::proportional(14.0);
        ctx.fonts_mut(|fonts| {
            for (key, en, pt) in crate::i18n::all_entries() {
                for text in [en, pt] {
                    let missing: String = text
                        .chars()
                        .filter(|&c| !c.is_whitespace() && !fonts.has_glyph(&proportional, c))
                        .collect();
                    assert!(missing.is_empty(), "{key}: no glyph for {missing:?}");
                }
            }
            assert!(
                !fonts.has_glyph(&proportional, '\u{10FFFD}'),
                "the check can fail"
            );
        });
    }
}
