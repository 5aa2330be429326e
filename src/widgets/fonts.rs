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
