//! Drawing a lesson step's text: the small part of Markdown lessons use (paragraphs, bullet
//! lists, `###` headings, **bold**, *italic*, `code`), "Try it" boxes and code blocks (the
//! panel's own words are in [`crate::i18n::Msg`]).

use egui::text::LayoutJob;
use egui::{Color32, FontId, RichText, TextFormat, Ui};

use crate::i18n::Msg;
use crate::lesson::{Block, Language};

/// Draws a step's blocks.
pub fn blocks_ui(ui: &mut Ui, blocks: &[Block], language: Language) {
    for block in blocks {
        match block {
            Block::Text(text) => markdown_ui(ui, text),
            Block::TryIt(text) => try_it_ui(ui, text, language),
            Block::Code(code) => {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.label(RichText::new(code).monospace());
                });
            }
        }
        ui.add_space(6.0);
    }
}

/// A "Try it" prompt in its own tinted box.
fn try_it_ui(ui: &mut Ui, text: &str, language: Language) {
    let fill = if ui.visuals().dark_mode {
        Color32::from_rgb(30, 52, 40)
    } else {
        Color32::from_rgb(226, 244, 230)
    };
    egui::Frame::new()
        .fill(fill)
        .corner_radius(6.0)
        .inner_margin(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(Msg::TryIt.text(language)).strong());
            // Teachers often begin the quote with "Try it:" themselves; don't say it twice.
            let body = ["Try it:", "Experimente:"]
                .iter()
                .find_map(|prefix| text.strip_prefix(prefix))
                .unwrap_or(text)
                .trim_start();
            markdown_ui(ui, &capitalized(body));
        });
}

/// `text` with its first letter in upper case (after a stripped "Try it:").
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Paragraphs (separated by blank lines), `- ` bullets and `###` headings.
pub fn markdown_ui(ui: &mut Ui, text: &str) {
    for paragraph in text.split("\n\n") {
        let paragraph = paragraph.trim_matches('\n');
        if paragraph.trim().is_empty() {
            continue;
        }
        let mut lines: Vec<String> = Vec::new();
        for line in paragraph.lines() {
            let trimmed = line.trim_start();
            let starts_item = trimmed.starts_with("- ") || trimmed.starts_with("* ");
            match lines.last_mut() {
                // A continuation line of a list item or of running text.
                Some(last) if !starts_item && !trimmed.starts_with('#') => {
                    last.push(' ');
                    last.push_str(trimmed);
                }
                _ => lines.push(trimmed.to_string()),
            }
        }
        for line in lines {
            if let Some(heading) = line.strip_prefix('#') {
                let heading = heading.trim_start_matches('#').trim();
                ui.label(RichText::new(heading).strong().size(15.0));
            } else if let Some(item) = line.strip_prefix("- ").or(line.strip_prefix("* ")) {
                ui.horizontal_top(|ui| {
                    ui.label("•");
                    inline_ui(ui, item);
                });
            } else {
                inline_ui(ui, &line);
            }
        }
        ui.add_space(4.0);
    }
}

/// `text` with the spaces inside square brackets made non-breaking, so that a vector such as
/// [0.1, 0.2, 0.3] is never split across two lines of the panel.
fn keep_vectors_together(text: &str) -> String {
    let mut depth = 0usize;
    text.chars()
        .map(|c| {
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                ' ' if depth > 0 => return '\u{a0}',
                _ => {}
            }
            c
        })
        .collect()
}

/// One run of text with **bold**, *italic* and `code` spans, wrapped to the panel.
fn inline_ui(ui: &mut Ui, text: &str) {
    let text = &keep_vectors_together(text);
    let body = FontId::proportional(14.0);
    let mono = FontId::monospace(13.0);
    let colour = ui.visuals().text_color();
    let strong = ui.visuals().strong_text_color();
    let code_background = ui.visuals().code_bg_color;
    let mut job = LayoutJob::default();
    job.wrap.max_width = ui.available_width();
    let (mut bold, mut italic, mut code) = (false, false, false);
    let mut run = String::new();
    let flush = |job: &mut LayoutJob, run: &mut String, bold: bool, italic: bool, code: bool| {
        if run.is_empty() {
            return;
        }
        let format = TextFormat {
            font_id: if code { mono.clone() } else { body.clone() },
            color: if bold { strong } else { colour },
            italics: italic,
            background: if code {
                code_background
            } else {
                Color32::TRANSPARENT
            },
            ..Default::default()
        };
        job.append(run, 0.0, format);
        run.clear();
    };
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            flush(&mut job, &mut run, bold, italic, code);
            code = !code;
        } else if code {
            run.push(c);
        } else if c == '*' && chars.get(i + 1) == Some(&'*') {
            flush(&mut job, &mut run, bold, italic, code);
            bold = !bold;
            i += 1;
        } else if c == '*' && is_emphasis_mark(&chars, i, italic) {
            flush(&mut job, &mut run, bold, italic, code);
            italic = !italic;
        } else {
            run.push(c);
        }
        i += 1;
    }
    flush(&mut job, &mut run, bold, italic, code);
    ui.add(egui::Label::new(job).wrap());
}

/// A single `*` opens emphasis before a word character and closes it after one; a `*` between
/// spaces (as in `2 * 3`) is text.
fn is_emphasis_mark(chars: &[char], i: usize, open: bool) -> bool {
    let before = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
    let after = chars.get(i + 1).copied();
    if open {
        before.is_some_and(|c| !c.is_whitespace())
    } else {
        after.is_some_and(|c| !c.is_whitespace())
    }
}

#[cfg(test)]
mod tests {
    use super::keep_vectors_together;

    #[test]
    fn vectors_do_not_break() {
        assert_eq!(
            keep_vectors_together("x = [1, 2, 3] + [0.5, 1.5] and more"),
            "x = [1,\u{a0}2,\u{a0}3] + [0.5,\u{a0}1.5] and more"
        );
        assert_eq!(keep_vectors_together("a ] b [c d"), "a ] b [c\u{a0}d");
    }
}
