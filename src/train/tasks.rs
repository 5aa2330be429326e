//! Built-in synthetic tasks that make mechanisms visible:
//!
//! - `induction`: a random sequence of random length followed by its repeats; only the
//!   repeats are scored, so the loss falls only once the model forms induction heads.
//! - `copy` / `reverse`: `BOS x₁…x_k SEP` then the same tokens (or reversed); only the answer
//!   is scored.
//! - `sentences`: simple English sentences at the word level ("the quick brown fox jumps over
//!   the lazy dog ."), for the language-model-head lesson.
//!
//! Validation batches come from a fixed seed, so every evaluation sees the same data.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::data::{Batch, BatchSource, TextCorpus, TextLevel};
use crate::model::TokenId;
use crate::model::tokenizer::Tokenizer;

/// Every task name with a one-line description.
pub const TASKS: &[(&str, &str)] = &[
    (
        "induction",
        "random tokens (a random period of seq/4..seq/2) repeated; the repeats are scored (vocabulary 32)",
    ),
    ("copy", "BOS x1..xk SEP x1..xk; the copy is scored"),
    (
        "reverse",
        "BOS x1..xk SEP xk..x1; the reversed copy is scored",
    ),
    (
        "sentences",
        "simple English sentences, word-level (the quick brown fox jumps over the lazy dog .)",
    ),
];

/// The simple sentences of the `sentences` task.
pub const SENTENCES: &[&str] = &[
    "the quick brown fox jumps over the lazy dog .",
    "the cat sat on the mat .",
    "the dog runs in the park .",
    "a bird sings in the tree .",
    "the sun rises in the east .",
    "the moon shines at night .",
    "my friend reads a good book .",
    "the children play in the garden .",
    "she drinks a cup of tea .",
    "he writes a letter to his mother .",
    "the river flows to the sea .",
    "the baker makes fresh bread .",
    "we walk to school every day .",
    "the old man sits by the fire .",
    "the little girl has a red ball .",
    "the wind blows through the trees .",
    "the farmer feeds the cows .",
    "the teacher opens the door .",
    "the boy eats an apple .",
    "the rain falls on the roof .",
    "the fish swims in the pond .",
    "the students learn about the stars .",
    "the brown dog sleeps under the table .",
    "the quick rabbit runs into the forest .",
];

const BOS: TokenId = 0;
const SEP: TokenId = 1;
const SYMBOL_VOCAB: usize = 32;
const VALIDATION_SEED: u64 = 0x5EED_0F7E;
const VALIDATION_BATCHES: usize = 8;

/// The same [`VALIDATION_BATCHES`] batches on every call: `make` draws each from a generator
/// seeded with [`VALIDATION_SEED`].
fn fixed_validation_batches(mut make: impl FnMut(&mut StdRng) -> Batch) -> Vec<Batch> {
    let mut rng = StdRng::seed_from_u64(VALIDATION_SEED);
    (0..VALIDATION_BATCHES).map(|_| make(&mut rng)).collect()
}

/// The data source of task `name`, or an error listing the tasks.
pub fn task_source(name: &str) -> Result<Box<dyn BatchSource>, String> {
    let kind = match name {
        "induction" => SymbolTask::Induction,
        "copy" => SymbolTask::Copy,
        "reverse" => SymbolTask::Reverse,
        "sentences" => return Ok(Box::new(Sentences::new())),
        other => {
            let names: Vec<&str> = TASKS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "unknown task '{other}': choose one of {}",
                names.join(", ")
            ));
        }
    };
    Ok(Box::new(kind))
}

/// Tasks over random symbols `2..32` with `BOS` = 0 and `SEP` = 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolTask {
    /// `BOS noise r₁…r_n r₁…r_n r₁…` with n random in `seq/4..=seq/2` and a noise prefix of
    /// random length, the repeats scored.
    Induction,
    /// `BOS x₁…x_k SEP x₁…x_k`, the copy scored.
    Copy,
    /// `BOS x₁…x_k SEP x_k…x₁`, the reversed copy scored.
    Reverse,
}

impl SymbolTask {
    /// One stream of `seq + 1` tokens and, per input position, whether its target is scored.
    fn sequence(self, rng: &mut StdRng, seq: usize) -> (Vec<TokenId>, Vec<bool>) {
        let symbol = |rng: &mut StdRng| rng.random_range(2..SYMBOL_VOCAB as TokenId);
        let mut stream = vec![BOS];
        let answer_start; // index in `stream` of the first scored token
        match self {
            SymbolTask::Induction => {
                // A random period, so that only content (not a fixed offset) finds the
                // earlier occurrence: that is what makes induction heads form.
                // A random-length prefix of noise moves the segment, so that absolute
                // positions do not give its start away either.
                let shortest = (seq / 4).clamp(1, seq / 2);
                let half = rng.random_range(shortest..=seq / 2);
                let prefix = rng.random_range(0..=seq - 2 * half);
                stream.extend((0..prefix).map(|_| symbol(rng)));
                let first: Vec<TokenId> = (0..half).map(|_| symbol(rng)).collect();
                stream.extend(&first);
                // The first repeated token is not predictable; the rest are.
                answer_start = stream.len() + 1;
                stream.extend(first.iter().cycle().take(seq + 1 - stream.len()));
            }
            SymbolTask::Copy | SymbolTask::Reverse => {
                let k = (seq - 1) / 2;
                let mut items: Vec<TokenId> = (0..k).map(|_| symbol(rng)).collect();
                stream.extend(&items);
                stream.push(SEP);
                answer_start = stream.len();
                if self == SymbolTask::Reverse {
                    items.reverse();
                }
                stream.extend(&items);
                stream.resize(seq + 1, BOS);
            }
        }
        let answer_end = match self {
            SymbolTask::Induction => seq + 1,
            _ => answer_start + (seq - 1) / 2,
        };
        // Input position i predicts stream[i + 1].
        let scored = (0..seq)
            .map(|i| (answer_start..answer_end).contains(&(i + 1)))
            .collect();
        (stream, scored)
    }

    fn batch(self, rng: &mut StdRng, batch: usize, seq: usize) -> Batch {
        let mut out = Batch {
            batch,
            seq,
            inputs: Vec::with_capacity(batch * seq),
            targets: Vec::with_capacity(batch * seq),
        };
        for _ in 0..batch {
            let (stream, scored) = self.sequence(rng, seq);
            out.inputs.extend_from_slice(&stream[..seq]);
            out.targets
                .extend((0..seq).map(|i| scored[i].then_some(stream[i + 1])));
        }
        out
    }
}

impl BatchSource for SymbolTask {
    fn d_vocab(&self) -> usize {
        SYMBOL_VOCAB
    }

    fn tokenizer(&self) -> Tokenizer {
        Tokenizer::Ids {
            d_vocab: SYMBOL_VOCAB,
        }
    }

    fn describe(&self) -> String {
        format!("synthetic task {self:?} (vocabulary {SYMBOL_VOCAB}, BOS 0, SEP 1)")
    }

    fn check_seq(&self, seq: usize) -> Result<(), String> {
        if seq < 5 {
            return Err(format!(
                "sequence length {seq} is too short for this task (use ≥ 5)"
            ));
        }
        Ok(())
    }

    fn train_batch(&self, rng: &mut StdRng, batch: usize, seq: usize) -> Batch {
        self.batch(rng, batch, seq)
    }

    fn validation_batches(&self, batch: usize, seq: usize) -> Vec<Batch> {
        fixed_validation_batches(|rng| self.batch(rng, batch, seq))
    }
}

/// Random orderings of [`SENTENCES`], word-level.
#[derive(Clone, Debug)]
pub struct Sentences {
    corpus: TextCorpus,
    sentences: Vec<Vec<TokenId>>,
}

impl Sentences {
    /// The word vocabulary of every sentence.
    pub fn new() -> Self {
        let text = SENTENCES.join(" ");
        let corpus = TextCorpus::from_text(&text, TextLevel::Word, "sentences")
            .expect("the built-in sentences are long enough");
        let sentences = SENTENCES
            .iter()
            .map(|s| corpus.tokenizer.encode(s).ids)
            .collect();
        Self { corpus, sentences }
    }

    fn batch(&self, rng: &mut StdRng, batch: usize, seq: usize) -> Batch {
        let mut out = Batch {
            batch,
            seq,
            inputs: Vec::with_capacity(batch * seq),
            targets: Vec::with_capacity(batch * seq),
        };
        let mut order: Vec<usize> = (0..self.sentences.len()).collect();
        for _ in 0..batch {
            // Sentences in a random order, read from a random word of the first one.
            let mut stream = Vec::new();
            while stream.len() < 2 * seq + 20 {
                order.shuffle(rng);
                for &i in &order {
                    stream.extend_from_slice(&self.sentences[i]);
                }
            }
            let start = rng.random_range(0..self.sentences[order[0]].len());
            out.inputs.extend_from_slice(&stream[start..start + seq]);
            out.targets
                .extend(stream[start + 1..start + seq + 1].iter().map(|&t| Some(t)));
        }
        out
    }
}

impl Default for Sentences {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchSource for Sentences {
    fn d_vocab(&self) -> usize {
        self.corpus.tokenizer.vocab_size()
    }

    fn tokenizer(&self) -> Tokenizer {
        self.corpus.tokenizer.clone()
    }

    fn describe(&self) -> String {
        format!(
            "{} simple sentences, word-level (vocabulary {})",
            SENTENCES.len(),
            self.d_vocab()
        )
    }

    fn check_seq(&self, seq: usize) -> Result<(), String> {
        if seq < 2 {
            return Err("sequence length must be at least 2".into());
        }
        Ok(())
    }

    fn train_batch(&self, rng: &mut StdRng, batch: usize, seq: usize) -> Batch {
        self.batch(rng, batch, seq)
    }

    fn validation_batches(&self, batch: usize, seq: usize) -> Vec<Batch> {
        fixed_validation_batches(|rng| self.batch(rng, batch, seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn induction_scores_only_the_predictable_repeat() {
        let mut rng = StdRng::seed_from_u64(1);
        let seq = 40;
        let batch = SymbolTask::Induction.batch(&mut rng, 50, seq);
        let mut periods = std::collections::BTreeSet::new();
        for (inputs, targets) in batch.inputs.chunks(seq).zip(batch.targets.chunks(seq)) {
            // Stream: BOS r1..rn r1..rn r1..; input i predicts stream[i + 1].
            assert_eq!(inputs[0], BOS);
            let first_scored = targets.iter().position(|t| t.is_some()).unwrap();
            // The smallest period that makes everything from `first_scored` on a repeat.
            let period = (seq / 4..=seq / 2)
                .find(|&p| (first_scored..seq).all(|i| inputs[i] == inputs[i - p]))
                .expect("the scored part repeats");
            periods.insert(period);
            assert!(first_scored > period);
            for (i, target) in targets.iter().enumerate() {
                assert_eq!(target.is_some(), i >= first_scored);
                if i + 1 < seq && target.is_some() {
                    assert_eq!(target.unwrap(), inputs[i + 1]);
                }
            }
        }
        assert!(periods.len() > 5, "periods vary: {periods:?}");
    }

    #[test]
    fn reverse_answer_is_reversed_and_scored() {
        let mut rng = StdRng::seed_from_u64(2);
        let batch = SymbolTask::Reverse.batch(&mut rng, 1, 7);
        // BOS x1 x2 x3 SEP x3 x2 (x1 is the last target).
        let inputs = &batch.inputs;
        assert_eq!(inputs[4], SEP);
        assert_eq!(inputs[5], inputs[3]);
        assert_eq!(inputs[6], inputs[2]);
        assert_eq!(batch.targets[6], Some(inputs[1]));
        assert_eq!(batch.targets[3], None);
        assert_eq!(batch.target_count(), 3);
    }

    #[test]
    fn sentences_are_word_level_and_validation_is_fixed() {
        let task = Sentences::new();
        let fox = task.tokenizer().encode("the quick brown fox jumps");
        assert!(fox.unknown.is_empty());
        assert_eq!(task.validation_batches(4, 8), task.validation_batches(4, 8));
        let error = task_source("nope").err().expect("unknown task");
        assert!(error.contains("induction"), "{error}");
    }
}
