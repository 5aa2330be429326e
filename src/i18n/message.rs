//! A message kept by the state for the interface (a notice, an error, why a run failed): a
//! [`Notice`] and its values, put into words only when it is drawn, so the state holds no
//! language and a message follows the language switch.

use super::{Language, Notice, Noun, count};

/// Something to tell the user, not yet in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A notice with its values, each a message itself.
    Notice(Notice, Vec<Message>),
    /// Text that is not the interface's: a path, a number, a file reader's own message.
    Plain(String),
    /// `n` and its noun (`3 tokens`, `3 tokens`; `1 pedaço`, `2 pedaços`).
    Count(usize, Noun),
    /// Sentences one after the other, joined by ". ".
    Sentences(Vec<Message>),
}

impl Message {
    /// Text shown as it is.
    pub fn plain(text: impl std::fmt::Display) -> Self {
        Message::Plain(text.to_string())
    }

    /// The message in `language`.
    pub fn text(&self, language: Language) -> String {
        match self {
            Message::Notice(notice, values) => {
                let values: Vec<String> = values.iter().map(|v| v.text(language)).collect();
                let values: Vec<&dyn std::fmt::Display> =
                    values.iter().map(|v| v as &dyn std::fmt::Display).collect();
                notice.fill(language, &values)
            }
            Message::Plain(text) => text.clone(),
            Message::Count(n, noun) => count(language, *n, *noun),
            Message::Sentences(sentences) => sentences
                .iter()
                .map(|s| s.text(language))
                .collect::<Vec<_>>()
                .join(". "),
        }
    }
}

impl Notice {
    /// This notice with `values`, each shown as it is (a path, a number).
    pub fn with(self, values: &[&dyn std::fmt::Display]) -> Message {
        Message::Notice(self, values.iter().map(Message::plain).collect())
    }

    /// This notice, which has no values.
    pub fn message(self) -> Message {
        Message::Notice(self, Vec::new())
    }
}

impl From<Notice> for Message {
    fn from(notice: Notice) -> Self {
        notice.message()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_put_into_words_in_the_language_asked() {
        let opened = Notice::Opened.with(&[&"m.safetensors"]);
        assert_eq!(opened.text(Language::En), "Opened m.safetensors");
        assert_eq!(opened.text(Language::Pt), "Aberto: m.safetensors");
        let full = Message::Notice(Notice::ContextFull, vec![Message::Count(1, Noun::Token)]);
        let both = Message::Sentences(vec![opened, full]);
        assert_eq!(
            both.text(Language::En),
            "Opened m.safetensors. the context is full (1 token)"
        );
        assert_eq!(
            both.text(Language::Pt),
            "Aberto: m.safetensors. o contexto está cheio (1 token)"
        );
        assert_eq!(Message::plain(1.5).text(Language::Pt), "1.5");
    }
}
