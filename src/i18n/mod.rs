//! The interface in English and Portuguese, from one string table.
//!
//! Every word the explorer shows a student is a key of one of the tables below, each entry
//! written as `Key => ("English", "Português")`, so a key cannot exist in one language only:
//! - [`Msg`] (`ui.rs`): the window around the views: tabs, menus, bars, lesson panel, file
//!   dialogs;
//! - [`ViewText`] (`views.rs`): inside the residual, attention, contributions, logit lens and
//!   patching views (headings, labels, legends, plots, hover texts), and the widgets' words;
//! - [`ModelText`] (`model.rs`): the model view, the architecture in words, tokenizer kinds;
//! - [`TrainText`] (`training.rs`): the training view, its plots and presets, the timeline bar;
//! - [`AnalysisText`] (`analysis.rs`): the analysis's sentences (the lens's final norm, where
//!   the stream stops being a sum of terms);
//! - [`Notice`] (`notices.rs`): what the state says (opened, saved, errors, why a button is
//!   disabled), kept as a [`Message`] (`message.rs`: a key and its values) until it is drawn;
//! - [`Help`] (`help.rs`): the "what am I looking at" text of every view;
//! - [`StageText`] (`stages.rs`): the stage slider's sentences;
//! - [`Noun`] (`nouns.rs`): counted nouns, `"token|tokens"`, for [`count`].
//!
//! A text with values in it marks them `{0}`, `{1}`, … and is filled by [`fill`]; the tests
//! check that both languages name the same values, that no entry is empty, and that no
//! Portuguese entry is the English one unless listed in [`SAME_IN_BOTH`]; `widgets::fonts`
//! checks that the app's fonts can draw every entry. To add a text: a key and its two
//! languages in the table it belongs to, then `Msg::Key.text(language)` where it is drawn.
//!
//! Identifiers that are also file or JSON keys (view slugs, stage labels such as `L0 attn`,
//! hook names, config keys such as `n_layers`, term and component labels such as `L0H1`,
//! preset and task names, column names of exports) stay in English and are not in these
//! tables, nor is data: token text, model names, paths, numbers (written with a decimal point
//! in both languages, as the lessons are). Messages from below the interface (a file reader's
//! or the trainer's own error) are shown as they come, after a translated sentence saying
//! what failed.
//! The one setting behind the language is the lesson player's (`LessonPlayer::language`,
//! stored with the settings as `LessonSettings::language`): the lessons and the interface
//! always speak the same language.

mod analysis;
mod circuits;
mod features;
mod help;
mod message;
mod model;
mod notices;
mod nouns;
mod stages;
mod training;
mod ui;
mod views;

pub use analysis::AnalysisText;
pub use circuits::CircuitText;
pub use features::FeatureText;
pub use help::Help;
pub use message::Message;
pub use model::ModelText;
pub use notices::Notice;
pub use nouns::Noun;
pub use stages::StageText;
pub use training::TrainText;
pub use ui::Msg;
pub use views::ViewText;

/// The language of the lessons and of the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Language {
    /// English (`en`).
    #[default]
    En,
    /// Portuguese (`pt`, Brazilian).
    Pt,
}

impl Language {
    /// Every supported language, in menu order.
    pub const ALL: [Language; 2] = [Language::En, Language::Pt];

    /// The code used in file names, front matter and settings: `en`, `pt`.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Pt => "pt",
        }
    }

    /// The language's own name, for the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::Pt => "Português",
        }
    }

    /// Parses a code (`en`, `pt`).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|lang| lang.code() == code)
    }
}

/// Declares a table: an enum of keys, each documented by its English text, with both
/// languages' texts and the list of every key (for the completeness tests).
macro_rules! string_table {
    ($(#[$meta:meta])* $table:ident { $($key:ident => ($en:literal, $pt:literal),)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $table {
            $(#[doc = $en] $key,)*
        }

        impl $table {
            /// Every key of the table.
            pub const ALL: &'static [$table] = &[$($table::$key,)*];

            /// The text in `language`.
            pub fn text(self, language: $crate::i18n::Language) -> &'static str {
                match language {
                    $crate::i18n::Language::En => match self { $($table::$key => $en,)* },
                    $crate::i18n::Language::Pt => match self { $($table::$key => $pt,)* },
                }
            }

            /// The text in `language` with `{0}`, `{1}`, … replaced by `args` (see
            /// [`fill`](crate::i18n::fill)).
            pub fn fill(
                self,
                language: $crate::i18n::Language,
                args: &[&dyn std::fmt::Display],
            ) -> String {
                $crate::i18n::fill(self.text(language), args)
            }
        }
    };
}
pub(crate) use string_table;

/// `template` with each `{i}` replaced by `args[i]`; a `{i}` without an argument is left as
/// it is (a test sees it).
pub fn fill(template: &str, args: &[&dyn std::fmt::Display]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let index: usize = after[..close].parse().ok()?;
            Some((args.get(index)?, close))
        });
        match value {
            Some((arg, close)) => {
                out.push_str(&arg.to_string());
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `n` and its noun in `language`: `1 token`, `2 tokens`, `1 peça`, `0 peças`. Both
/// languages use the singular for exactly one (Brazilian Portuguese says `0 peças`).
pub fn count(language: Language, n: usize, noun: Noun) -> String {
    let (one, many) = noun.forms(language);
    counted(n, one, many)
}

/// `n` followed by `one` when `n` is 1 and by `many` otherwise (never `1 tokens` or
/// `piece(s)`); [`count`] picks the words from the table.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Entries that are the same word in both languages, on purpose (technical names and
/// loan words Brazilian students use as they are).
pub const SAME_IN_BOTH: &[&str] = &[
    "Features",
    "features",
    "tokens",
    "{0}: {1} features, {2}",
    "L0 / k",
    "ReLU, L1",
    "Patching",
    "Prompt",
    "top-k",
    "Tokens ({0})",
    "{0} tokens/s",
    "token|tokens",
    "‘{0}’ logit {1}",
];

/// Every entry of every table, as (table and key, English, Portuguese), for tests.
pub fn all_entries() -> Vec<(String, &'static str, &'static str)> {
    fn entries<K: Copy + std::fmt::Debug>(
        keys: &[K],
        text: impl Fn(K, Language) -> &'static str,
    ) -> Vec<(String, &'static str, &'static str)> {
        keys.iter()
            .map(|&k| {
                (
                    format!("{k:?}"),
                    text(k, Language::En),
                    text(k, Language::Pt),
                )
            })
            .collect()
    }
    let mut all = entries(Msg::ALL, Msg::text);
    all.extend(entries(ViewText::ALL, ViewText::text));
    all.extend(entries(ModelText::ALL, ModelText::text));
    all.extend(entries(TrainText::ALL, TrainText::text));
    all.extend(entries(AnalysisText::ALL, AnalysisText::text));
    all.extend(entries(CircuitText::ALL, CircuitText::text));
    all.extend(entries(FeatureText::ALL, FeatureText::text));
    all.extend(entries(Notice::ALL, Notice::text));
    all.extend(entries(Help::ALL, Help::text));
    all.extend(entries(StageText::ALL, StageText::text));
    all.extend(entries(Noun::ALL, Noun::text));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The `{i}` placeholders of a text.
    fn placeholders(text: &str) -> BTreeSet<usize> {
        let mut found = BTreeSet::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            rest = &rest[open + 1..];
            if let Some(close) = rest.find('}')
                && let Ok(i) = rest[..close].parse()
            {
                found.insert(i);
            }
        }
        found
    }

    #[test]
    fn fill_replaces_numbered_values_and_keeps_the_rest() {
        assert_eq!(fill("{1} de {0}", &[&3, &"x"]), "x de 3");
        assert_eq!(fill("{0} {0}", &[&1.5]), "1.5 1.5");
        assert_eq!(fill("a {2} {b}", &[&1]), "a {2} {b}");
        assert_eq!(fill("x′ = {0}", &[&"y"]), "x′ = y");
    }

    #[test]
    fn every_entry_is_written_in_both_languages() {
        let entries = all_entries();
        assert!(entries.len() > 100, "the tables hold the interface");
        let mut untranslated = Vec::new();
        for (key, en, pt) in &entries {
            assert!(
                !en.trim().is_empty() && !pt.trim().is_empty(),
                "{key} is empty"
            );
            if en == pt && !SAME_IN_BOTH.contains(en) {
                untranslated.push(format!("{key}: {en:?}"));
            }
            assert_eq!(
                placeholders(en),
                placeholders(pt),
                "{key}: the two languages fill in different values"
            );
            let numbered: BTreeSet<usize> = (0..placeholders(en).len()).collect();
            assert_eq!(
                placeholders(en),
                numbered,
                "{key}: values are numbered from 0"
            );
        }
        assert!(
            untranslated.is_empty(),
            "the Portuguese is the English; translate it or list it in SAME_IN_BOTH:\n{}",
            untranslated.join("\n")
        );
    }

    #[test]
    fn no_text_is_written_twice() {
        let entries = all_entries();
        let mut seen = std::collections::HashMap::new();
        let mut twice = Vec::new();
        for (key, en, pt) in &entries {
            if let Some(first) = seen.insert((en, pt), key) {
                twice.push(format!("{first} and {key}: {en:?}"));
            }
        }
        assert!(
            twice.is_empty(),
            "one key is enough for the same words:\n{}",
            twice.join("\n")
        );
    }

    #[test]
    fn every_listed_exception_is_used() {
        let entries = all_entries();
        for same in SAME_IN_BOTH {
            assert!(
                entries.iter().any(|(_, en, pt)| en == same && pt == same),
                "{same:?} is listed in SAME_IN_BOTH but no entry needs it"
            );
        }
    }

    #[test]
    fn counted_nouns_agree_with_their_number() {
        assert_eq!(count(Language::En, 1, Noun::Token), "1 token");
        assert_eq!(count(Language::En, 2, Noun::Token), "2 tokens");
        assert_eq!(count(Language::Pt, 1, Noun::Piece), "1 pedaço");
        assert_eq!(count(Language::Pt, 0, Noun::Piece), "0 pedaços");
        for &noun in Noun::ALL {
            for language in Language::ALL {
                let (one, many) = noun.forms(language);
                assert!(
                    !one.is_empty() && !many.is_empty() && one != many,
                    "{noun:?}"
                );
            }
        }
    }
}
