//! Counted nouns for messages: `1 token`, `2 tokens` (never `1 tokens` or `piece(s)`). The
//! rule lives with the interface's words (`i18n::counted`; `i18n::count` takes the nouns
//! from the string table in either language); the CLI's English messages use it from here.

pub use crate::i18n::counted as count;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1, "token", "tokens"), "1 token");
        assert_eq!(count(0, "token", "tokens"), "0 tokens");
        assert_eq!(count(2, "piece", "pieces"), "2 pieces");
    }
}
