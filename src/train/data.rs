//! Training data: a [`Batch`] of token windows with next-token targets, the [`BatchSource`]
//! trait every data set implements, and [`TextCorpus`], a character- or word-level corpus read
//! from a text file whose last 10 % is held out for validation.

use std::path::Path;

use rand::Rng;
use rand::rngs::StdRng;

use crate::model::TokenId;
use crate::model::tokenizer::{CharTokenizer, Tokenizer, WordTokenizer};

/// Largest corpus file read, in bytes.
pub const MAX_CORPUS_BYTES: u64 = 512 << 20;
/// Validation uses at most this many tokens (the held-out split from its start).
pub const MAX_VALIDATION_TOKENS: usize = 1 << 17;

/// `batch` sequences of `seq` tokens and the token each position should predict.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Number of sequences.
    pub batch: usize,
    /// Tokens per sequence.
    pub seq: usize,
    /// The inputs, sequence-major. [batch·seq]
    pub inputs: Vec<TokenId>,
    /// The target of each input position; `None` positions carry no loss. [batch·seq]
    pub targets: Vec<Option<TokenId>>,
}

impl Batch {
    /// The input sequences as slices.
    pub fn sequences(&self) -> Vec<&[TokenId]> {
        self.inputs.chunks(self.seq).collect()
    }

    /// Sequences `range` of this batch as a batch of their own.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Batch {
        let rows = range.start * self.seq..range.end * self.seq;
        Batch {
            batch: range.len(),
            seq: self.seq,
            inputs: self.inputs[rows.clone()].to_vec(),
            targets: self.targets[rows].to_vec(),
        }
    }

    /// Number of positions that carry a loss.
    pub fn target_count(&self) -> usize {
        self.targets.iter().flatten().count()
    }
}

/// A source of training and validation batches.
pub trait BatchSource: Send + Sync {
    /// Vocabulary size the model needs.
    fn d_vocab(&self) -> usize;
    /// How text maps to the ids this source produces.
    fn tokenizer(&self) -> Tokenizer;
    /// A short description for logs and the GUI.
    fn describe(&self) -> String;
    /// Checks that sequences of `seq` tokens can be drawn (train and validation).
    fn check_seq(&self, seq: usize) -> Result<(), String>;
    /// A random training batch.
    fn train_batch(&self, rng: &mut StdRng, batch: usize, seq: usize) -> Batch;
    /// The fixed validation set, in batches of at most `batch` sequences.
    fn validation_batches(&self, batch: usize, seq: usize) -> Vec<Batch>;
}

/// Character-level or word-level tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextLevel {
    /// One token per character.
    Char,
    /// One token per lower-cased word or punctuation mark.
    Word,
}

/// A tokenized text: the first 90 % for training, the last 10 % for validation.
#[derive(Clone, Debug)]
pub struct TextCorpus {
    /// The vocabulary (built from the whole text).
    pub tokenizer: Tokenizer,
    /// Training tokens.
    pub train: Vec<TokenId>,
    /// Held-out tokens.
    pub val: Vec<TokenId>,
    /// Where it came from, for descriptions.
    pub label: String,
}

impl TextCorpus {
    /// Tokenizes `text` at `level` and splits it 90/10.
    pub fn from_text(text: &str, level: TextLevel, label: &str) -> Result<Self, String> {
        let tokenizer = match level {
            TextLevel::Char => Tokenizer::Char(CharTokenizer::from_text(text)),
            TextLevel::Word => Tokenizer::Word(WordTokenizer::from_text(text)),
        };
        Self::with_tokenizer(text, tokenizer, label)
    }

    /// Tokenizes `text` with a given tokenizer (a model's own, so that ids mean what the
    /// model learned) and splits it 90/10; text outside its vocabulary is an error.
    pub fn with_tokenizer(text: &str, tokenizer: Tokenizer, label: &str) -> Result<Self, String> {
        let encoding = tokenizer.encode(text);
        if let Some(bad) = encoding.unknown.first() {
            return Err(format!(
                "{label}: {:?} at character {} is not in the {} tokenizer's vocabulary",
                bad.text,
                bad.char_offset,
                tokenizer.kind()
            ));
        }
        let ids = encoding.ids;
        if ids.len() < 20 {
            return Err(format!(
                "{label}: {} tokens is too little text to train on (need at least 20)",
                ids.len()
            ));
        }
        let split = ids.len() - ids.len() / 10;
        Ok(Self {
            tokenizer,
            val: ids[split..].to_vec(),
            train: ids[..split].to_vec(),
            label: label.to_string(),
        })
    }

    /// Reads a UTF-8 text file (at most [`MAX_CORPUS_BYTES`]) and tokenizes it.
    pub fn from_file(path: &Path, level: TextLevel) -> Result<Self, String> {
        let text = read_corpus_text(path)?;
        Self::from_text(&text, level, &path.display().to_string())
    }

    /// Reads a UTF-8 text file and tokenizes it with `tokenizer` ([`TextCorpus::with_tokenizer`]).
    pub fn from_file_with_tokenizer(path: &Path, tokenizer: Tokenizer) -> Result<Self, String> {
        let text = read_corpus_text(path)?;
        Self::with_tokenizer(&text, tokenizer, &path.display().to_string())
    }
}

/// The text of a corpus file of at most [`MAX_CORPUS_BYTES`].
fn read_corpus_text(path: &Path) -> Result<String, String> {
    let label = path.display().to_string();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read corpus {label}: {e}"))?
        .len();
    if size > MAX_CORPUS_BYTES {
        return Err(format!(
            "corpus {label} is {size} bytes; the limit is {MAX_CORPUS_BYTES}"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read corpus {label}: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("corpus {label} is not UTF-8 text: {e}"))
}

/// A window of `seq + 1` tokens starting at `start` as inputs and shifted targets.
fn push_window(tokens: &[TokenId], start: usize, seq: usize, batch: &mut Batch) {
    batch.inputs.extend_from_slice(&tokens[start..start + seq]);
    batch
        .targets
        .extend(tokens[start + 1..start + seq + 1].iter().map(|&t| Some(t)));
}

fn empty_batch(seq: usize) -> Batch {
    Batch {
        batch: 0,
        seq,
        inputs: Vec::new(),
        targets: Vec::new(),
    }
}

impl BatchSource for TextCorpus {
    fn d_vocab(&self) -> usize {
        self.tokenizer.vocab_size()
    }

    fn tokenizer(&self) -> Tokenizer {
        self.tokenizer.clone()
    }

    fn describe(&self) -> String {
        format!(
            "{} ({} training tokens, {} validation tokens, vocabulary {})",
            self.label,
            self.train.len(),
            self.val.len(),
            self.d_vocab()
        )
    }

    fn check_seq(&self, seq: usize) -> Result<(), String> {
        let shortest = self.train.len().min(self.val.len());
        if seq == 0 || seq + 1 > shortest {
            return Err(format!(
                "sequence length {seq} does not fit: the validation split has {} tokens",
                self.val.len()
            ));
        }
        Ok(())
    }

    fn train_batch(&self, rng: &mut StdRng, batch: usize, seq: usize) -> Batch {
        let mut out = empty_batch(seq);
        out.batch = batch;
        for _ in 0..batch {
            let start = rng.random_range(0..self.train.len() - seq);
            push_window(&self.train, start, seq, &mut out);
        }
        out
    }

    fn validation_batches(&self, batch: usize, seq: usize) -> Vec<Batch> {
        let usable = self.val.len().min(MAX_VALIDATION_TOKENS);
        let windows: Vec<usize> = (0..)
            .map(|i| i * seq)
            .take_while(|&start| start + seq < usable)
            .collect();
        windows
            .chunks(batch.max(1))
            .map(|starts| {
                let mut out = empty_batch(seq);
                out.batch = starts.len();
                for &start in starts {
                    push_window(&self.val, start, seq, &mut out);
                }
                out
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn char_corpus_splits_and_shifts_targets() {
        let text = "abcdefghij".repeat(10);
        let corpus = TextCorpus::from_text(&text, TextLevel::Char, "test").unwrap();
        assert_eq!(corpus.d_vocab(), 10);
        assert_eq!((corpus.train.len(), corpus.val.len()), (90, 10));
        let mut rng = StdRng::seed_from_u64(0);
        let batch = corpus.train_batch(&mut rng, 3, 5);
        assert_eq!(batch.inputs.len(), 15);
        for (i, target) in batch.targets.iter().enumerate() {
            // The alphabet repeats, so each target is the next letter.
            assert_eq!(target.unwrap(), (batch.inputs[i] + 1) % 10);
        }
        let val = corpus.validation_batches(4, 3);
        let windows: usize = val.iter().map(|b| b.batch).sum();
        assert_eq!(windows, 3, "starts 0, 3, 6 fit in 10 tokens");
        assert!(corpus.check_seq(10).is_err());
        assert!(corpus.check_seq(9).is_ok());
    }

    #[test]
    fn word_corpus_and_errors() {
        let text = "the cat sat on the mat . ".repeat(10);
        let corpus = TextCorpus::from_text(&text, TextLevel::Word, "words").unwrap();
        assert_eq!(corpus.d_vocab(), 6);
        assert!(TextCorpus::from_text("ab", TextLevel::Char, "tiny").is_err());
        let missing = TextCorpus::from_file(Path::new("/no/such/file.txt"), TextLevel::Char);
        assert!(missing.unwrap_err().contains("/no/such/file.txt"));
    }
}
