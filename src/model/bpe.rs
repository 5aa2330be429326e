//! GPT-2's byte-level BPE tokenizer: the byte-to-unicode alphabet, the pre-tokenizer regex,
//! ranked merges, encoding and decoding. Reading the files (`tokenizer.json`, or
//! `vocab.json` + `merges.txt`) lives in `io/hf_tokenizer.rs`.
//!
//! Encoding, as in OpenAI's encoder.py and Hugging Face's ByteLevel + BPE:
//! 1. added tokens (`<|endoftext|>`) are cut out of the text and emitted as themselves;
//! 2. the rest is split by [`GPT2_SPLIT_PATTERN`] into words (`" world"`, `"'s"`, `"  "`);
//! 3. each word's UTF-8 bytes become one symbol each, shown in GPT-2's alphabet
//!    ([`bytes_to_unicode`]: printable bytes stand for themselves, the others are shifted
//!    past U+0100, so a space is `Ġ`);
//! 4. the adjacent pair with the lowest merge rank is merged, again and again, until no pair
//!    has a rank; the symbols left are the tokens.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::forward::TokenId;
use super::tokenizer::{Encoding, UnknownPiece};

/// GPT-2's pre-tokenizer pattern, verbatim from OpenAI's encoder.py.
///
/// `\s+(?!\S)` (whitespace not followed by a non-space: a run of spaces leaves its last space
/// to the next word) needs a lookahead, which the `regex` crate does not support. We use
/// `fancy-regex`, which runs exactly this pattern (delegating the plain parts to `regex`);
/// tiktoken and Hugging Face's tokenizers use it for the same pattern. A hand-written
/// splitter would have to re-derive the Unicode classes `\p{L}`/`\p{N}` and the alternation
/// order, which is where subtle mismatches come from.
pub const GPT2_SPLIT_PATTERN: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// Largest vocabulary accepted (the model's own limit on `d_vocab`).
pub const MAX_VOCAB: usize = 1 << 22;

/// GPT-2's byte-to-unicode table: byte `b` is shown as `table[b]`. The 188 printable bytes
/// (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) map to themselves; the others to U+0100 onwards in order.
pub fn bytes_to_unicode() -> [char; 256] {
    let printable = |b: u32| (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
    let mut table = ['\0'; 256];
    let mut next_shifted = 256u32;
    for byte in 0..256u32 {
        let code = if printable(byte) {
            byte
        } else {
            next_shifted += 1;
            next_shifted - 1
        };
        table[byte as usize] = char::from_u32(code).expect("below U+0200");
    }
    table
}

/// The data of a BPE tokenizer, as stored in a native model file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpeData {
    /// Token strings in GPT-2's byte-to-unicode alphabet, in id order.
    pub vocab: Vec<String>,
    /// Merge rules, highest priority first.
    pub merges: Vec<(String, String)>,
    /// Ids of tokens matched literally in text before splitting (`<|endoftext|>`); their
    /// strings are plain text, not byte-level.
    #[serde(default)]
    pub special_tokens: Vec<TokenId>,
}

/// GPT-2's byte-level BPE, validated, with its lookup tables built.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "BpeData", into = "BpeData")]
pub struct BpeTokenizer {
    data: BpeData,
    index: Arc<BpeIndex>,
}

/// Lookup tables built once from [`BpeData`].
struct BpeIndex {
    /// Token string → id.
    token_ids: HashMap<String, TokenId>,
    /// (left, right) → (rank, merged id).
    merges: HashMap<(TokenId, TokenId), (u32, TokenId)>,
    /// The token of each single byte, when the vocabulary has one.
    byte_ids: [Option<TokenId>; 256],
    /// Byte-level alphabet back to bytes.
    char_to_byte: HashMap<char, u8>,
    /// Byte to its byte-level character.
    byte_to_char: [char; 256],
    /// The compiled [`GPT2_SPLIT_PATTERN`].
    splitter: fancy_regex::Regex,
    /// Added tokens as (text, id), longest first.
    specials: Vec<(String, TokenId)>,
    /// Whether each id is an added token (never produced by merging bytes).
    is_special: Vec<bool>,
}

impl std::fmt::Debug for BpeTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BpeTokenizer")
            .field("vocab", &self.data.vocab.len())
            .field("merges", &self.data.merges.len())
            .field("special_tokens", &self.data.special_tokens)
            .finish()
    }
}

impl PartialEq for BpeTokenizer {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}
impl Eq for BpeTokenizer {}

impl TryFrom<BpeData> for BpeTokenizer {
    type Error = String;
    fn try_from(data: BpeData) -> Result<Self, String> {
        Self::new(data)
    }
}

impl From<BpeTokenizer> for BpeData {
    fn from(tokenizer: BpeTokenizer) -> Self {
        tokenizer.data
    }
}

impl BpeTokenizer {
    /// Validates the data (non-empty vocabulary of distinct tokens, merges whose parts and
    /// result are tokens, special ids in range) and builds the lookup tables.
    pub fn new(data: BpeData) -> Result<Self, String> {
        let n = data.vocab.len();
        if n == 0 || n > MAX_VOCAB {
            return Err(format!(
                "the vocabulary has {n} tokens (1 to {MAX_VOCAB} allowed)"
            ));
        }
        let mut token_ids = HashMap::with_capacity(n);
        for (id, token) in data.vocab.iter().enumerate() {
            if token_ids.insert(token.clone(), id as TokenId).is_some() {
                return Err(format!("token {token:?} appears twice in the vocabulary"));
            }
        }
        let mut is_special = vec![false; n];
        for &id in &data.special_tokens {
            *is_special
                .get_mut(id as usize)
                .ok_or_else(|| format!("special token id {id} is not in the vocabulary"))? = true;
        }
        let mut merges = HashMap::with_capacity(data.merges.len());
        for (rank, (left, right)) in data.merges.iter().enumerate() {
            let id = |t: &str| token_ids.get(t).copied();
            let (Some(a), Some(b), Some(merged)) =
                (id(left), id(right), id(&(left.clone() + right)))
            else {
                return Err(format!(
                    "merge {rank} ({left:?} {right:?}) uses or makes a token not in the vocabulary"
                ));
            };
            // A merge that would spell an added token is left out: added tokens come only
            // from their literal text, so decoding them gives that text back.
            if !is_special[merged as usize] {
                merges.entry((a, b)).or_insert((rank as u32, merged));
            }
        }
        let mut specials = Vec::new();
        for &id in &data.special_tokens {
            let text = data
                .vocab
                .get(id as usize)
                .ok_or_else(|| format!("special token id {id} is not in the vocabulary"))?;
            if text.is_empty() {
                return Err(format!("special token {id} is empty"));
            }
            specials.push((text.clone(), id));
        }
        specials.sort_by_key(|(text, _)| Reverse(text.len()));
        let byte_to_char = bytes_to_unicode();
        let char_to_byte = (0..=255u8).map(|b| (byte_to_char[b as usize], b)).collect();
        let byte_ids = std::array::from_fn(|b| {
            token_ids
                .get(&byte_to_char[b].to_string())
                .copied()
                .filter(|&id| !is_special[id as usize])
        });
        let splitter = fancy_regex::Regex::new(GPT2_SPLIT_PATTERN)
            .map_err(|e| format!("the GPT-2 pattern does not compile: {e}"))?;
        let index = BpeIndex {
            token_ids,
            merges,
            byte_ids,
            char_to_byte,
            byte_to_char,
            splitter,
            specials,
            is_special,
        };
        Ok(Self {
            data,
            index: Arc::new(index),
        })
    }

    /// Number of tokens.
    pub fn vocab_size(&self) -> usize {
        self.data.vocab.len()
    }

    /// Token strings in the byte-level alphabet, in id order.
    pub fn vocab(&self) -> &[String] {
        &self.data.vocab
    }

    /// Merge rules, highest priority first.
    pub fn merges(&self) -> &[(String, String)] {
        &self.data.merges
    }

    /// Ids of the added tokens matched literally in text.
    pub fn special_tokens(&self) -> &[TokenId] {
        &self.data.special_tokens
    }

    /// The id of a token string (in the byte-level alphabet), if it is in the vocabulary.
    pub fn token_id(&self, token: &str) -> Option<TokenId> {
        self.index.token_ids.get(token).copied()
    }

    /// The pieces GPT-2's pre-tokenizer cuts `text` into, with their byte offsets.
    pub fn pre_tokenize<'t>(&self, text: &'t str) -> Vec<(usize, &'t str)> {
        let mut pieces = Vec::new();
        let mut end = 0;
        for found in self.index.splitter.find_iter(text) {
            match found {
                Ok(m) => {
                    pieces.push((m.start(), m.as_str()));
                    end = m.end();
                }
                // Backtracking limit hit: keep the rest as one piece (still encodable).
                Err(_) => break,
            }
        }
        if end < text.len() {
            pieces.push((end, &text[end..]));
        }
        pieces
    }

    /// Encodes text. Bytes whose single-byte token is missing from the vocabulary (only in
    /// hand-made vocabularies) are reported as unknown, by the character they belong to.
    pub fn encode(&self, text: &str) -> Encoding {
        let mut encoding = Encoding::default();
        let mut chars = CharCounter::default();
        let mut rest = 0;
        while rest < text.len() {
            let (plain_end, special) = self.next_special(text, rest);
            for (offset, piece) in self.pre_tokenize(&text[rest..plain_end]) {
                self.encode_word(text, rest + offset, piece, &mut chars, &mut encoding);
            }
            match special {
                Some((len, id)) => {
                    encoding.ids.push(id);
                    rest = plain_end + len;
                }
                None => rest = plain_end,
            }
        }
        encoding
    }

    /// The first added token at or after `from`: (its byte offset, Some((length, id))), or
    /// (text length, None).
    fn next_special(&self, text: &str, from: usize) -> (usize, Option<(usize, TokenId)>) {
        let mut best: (usize, Option<(usize, TokenId)>) = (text.len(), None);
        for (special, id) in &self.index.specials {
            if let Some(pos) = text[from..].find(special.as_str()).map(|p| p + from)
                && pos < best.0
            {
                best = (pos, Some((special.len(), *id)));
            }
        }
        best
    }

    /// Encodes one pre-tokenized word starting at byte `start` of `text`.
    fn encode_word(
        &self,
        text: &str,
        start: usize,
        word: &str,
        chars: &mut CharCounter,
        encoding: &mut Encoding,
    ) {
        let index = &self.index;
        let mapped: String = word
            .bytes()
            .map(|b| index.byte_to_char[b as usize])
            .collect();
        if let Some(&id) = index.token_ids.get(&mapped)
            && !index.is_special[id as usize]
        {
            encoding.ids.push(id);
            return;
        }
        let symbols = merge_symbols(
            word.bytes().map(|b| index.byte_ids[b as usize]).collect(),
            &index.merges,
        );
        for (byte_offset, id) in symbols {
            match id {
                Some(id) => encoding.ids.push(id),
                None => {
                    let at = start + byte_offset;
                    let char_start = (0..=at)
                        .rev()
                        .find(|&i| text.is_char_boundary(i))
                        .unwrap_or(0);
                    let char_offset = chars.offset_of(text, char_start);
                    if encoding.unknown.last().map(|u| u.char_offset) != Some(char_offset) {
                        let ch = text[char_start..].chars().next().unwrap_or('\u{FFFD}');
                        encoding.unknown.push(UnknownPiece {
                            char_offset,
                            text: ch.to_string(),
                        });
                    }
                }
            }
        }
    }

    /// The bytes a token stands for.
    fn token_bytes(&self, id: TokenId, out: &mut Vec<u8>) -> bool {
        let Some(token) = self.data.vocab.get(id as usize) else {
            return false;
        };
        if self.index.is_special[id as usize] {
            out.extend_from_slice(token.as_bytes());
            return true;
        }
        for ch in token.chars() {
            match self.index.char_to_byte.get(&ch) {
                Some(&b) => out.push(b),
                None => out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        true
    }

    /// The text of a sequence: the tokens' bytes joined, then read as UTF-8 (invalid
    /// sequences become U+FFFD); ids outside the vocabulary show as `<?id>`.
    pub fn decode(&self, ids: &[TokenId]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            if !self.token_bytes(id, &mut bytes) {
                bytes.extend_from_slice(format!("<?{id}>").as_bytes());
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The text of one token (a token holding part of a multi-byte character shows U+FFFD).
    pub fn decode_token(&self, id: TokenId) -> Option<String> {
        self.bytes_of(id)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The bytes one token stands for (`None` for an id outside the vocabulary).
    pub fn bytes_of(&self, id: TokenId) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        self.token_bytes(id, &mut bytes).then_some(bytes)
    }
}

/// Converts byte offsets to character offsets, walking forward only.
#[derive(Default)]
struct CharCounter {
    byte: usize,
    chars: usize,
}

impl CharCounter {
    fn offset_of(&mut self, text: &str, byte: usize) -> usize {
        if byte < self.byte {
            *self = Self::default();
        }
        self.chars += text[self.byte..byte].chars().count();
        self.byte = byte;
        self.chars
    }
}

/// One symbol of a word being merged: a doubly linked list over the word's bytes.
#[derive(Clone, Copy)]
struct Symbol {
    id: Option<TokenId>,
    /// Byte offset in the word.
    start: usize,
    /// Bytes covered; 0 once merged into its left neighbour.
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// Applies the merges to a word (one entry per byte: its token, if any) and returns the
/// resulting tokens with their byte offsets. Lowest rank first, leftmost first among equal
/// ranks (a heap with stale entries skipped): O(n log n) in the word length.
fn merge_symbols(
    byte_ids: Vec<Option<TokenId>>,
    merges: &HashMap<(TokenId, TokenId), (u32, TokenId)>,
) -> Vec<(usize, Option<TokenId>)> {
    let n = byte_ids.len();
    let mut symbols: Vec<Symbol> = byte_ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| Symbol {
            id,
            start: i,
            len: 1,
            prev: i.checked_sub(1),
            next: (i + 1 < n).then_some(i + 1),
        })
        .collect();
    let rank_of = |symbols: &[Symbol], left: usize| -> Option<(u32, TokenId)> {
        let right = symbols[left].next?;
        merges
            .get(&(symbols[left].id?, symbols[right].id?))
            .copied()
    };
    let mut heap = BinaryHeap::new();
    for i in 0..n {
        if let Some((rank, _)) = rank_of(&symbols, i) {
            heap.push(Reverse((rank, i)));
        }
    }
    while let Some(Reverse((rank, left))) = heap.pop() {
        if symbols[left].len == 0 {
            continue;
        }
        // Ranks identify pairs, so a stale entry is one whose pair has changed.
        let Some((_, merged)) = rank_of(&symbols, left).filter(|(r, _)| *r == rank) else {
            continue;
        };
        let right = symbols[left]
            .next
            .expect("a ranked pair has a right symbol");
        symbols[left].id = Some(merged);
        symbols[left].len += symbols[right].len;
        symbols[left].next = symbols[right].next;
        symbols[right].len = 0;
        if let Some(after) = symbols[right].next {
            symbols[after].prev = Some(left);
        }
        if let Some(before) = symbols[left].prev
            && let Some((r, _)) = rank_of(&symbols, before)
        {
            heap.push(Reverse((r, before)));
        }
        if let Some((r, _)) = rank_of(&symbols, left) {
            heap.push(Reverse((r, left)));
        }
    }
    let mut out = Vec::new();
    let mut at = (n > 0).then_some(0);
    while let Some(i) = at {
        out.push((symbols[i].start, symbols[i].id));
        at = symbols[i].next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_matches_gpt2() {
        let table = bytes_to_unicode();
        assert_eq!(table[b' ' as usize], 'Ġ');
        assert_eq!(table[b'\n' as usize], 'Ċ');
        assert_eq!(table[b'A' as usize], 'A');
        assert_eq!(table[0], 'Ā');
        assert_eq!(table[0xAD], 'Ń'); // soft hyphen, the last of the 68 shifted bytes
        let distinct: std::collections::HashSet<char> = table.iter().copied().collect();
        assert_eq!(distinct.len(), 256);
    }

    #[test]
    fn merges_lowest_rank_first_and_leftmost_among_ties() {
        // Tokens: a=0 b=1 ab=2 aa=3 aab=4
        let merges = HashMap::from([((0, 1), (0, 2)), ((0, 0), (1, 3)), ((3, 1), (2, 4))]);
        let ids = |v: &[(usize, Option<TokenId>)]| v.iter().map(|s| s.1).collect::<Vec<_>>();
        // "aab": (a,b) has rank 0 → a ab
        let out = merge_symbols(vec![Some(0), Some(0), Some(1)], &merges);
        assert_eq!(ids(&out), [Some(0), Some(2)]);
        // "aaa": (a,a) twice, leftmost first → aa a
        let out = merge_symbols(vec![Some(0); 3], &merges);
        assert_eq!(ids(&out), [Some(3), Some(0)]);
        assert_eq!(out[1].0, 2);
        // unknown bytes never merge
        let out = merge_symbols(vec![Some(0), None, Some(1)], &merges);
        assert_eq!(ids(&out), [Some(0), None, Some(1)]);
        assert!(merge_symbols(vec![], &merges).is_empty());
    }
}
