//! Counted nouns for messages: `1 token`, `2 tokens` (never `1 tokens` or `piece(s)`).

/// `n` followed by `one` when `n` is 1 and by `many` otherwise.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

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
