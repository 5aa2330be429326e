//! Choosing the next token from the last position's logits: greedy, or sampled with a
//! temperature and a top-k cut. One step at a time, so the autoregressive loop is visible.

use ndarray::ArrayView1;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::i18n::{Message, Notice, Noun};
use crate::model::TokenId;

/// Why "Generate" cannot append a token now. The prompt bar decides from it (the button is
/// disabled, and the reason is its tooltip); a model without a tokenizer asks for ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenerateBlocked {
    /// A model that takes token ids, with none typed yet.
    NoIds,
    /// The prompt fills the model's context of this many tokens.
    ContextFull(usize),
    /// The trace of the current prompt is not ready yet.
    Running,
}

impl GenerateBlocked {
    /// The reason, to be put into words where it is shown.
    pub fn message(self) -> Message {
        match self {
            GenerateBlocked::NoIds => Notice::NoIdsYet.message(),
            GenerateBlocked::ContextFull(n) => {
                Message::Notice(Notice::ContextFull, vec![Message::Count(n, Noun::Token)])
            }
            GenerateBlocked::Running => Notice::StillRunning.message(),
        }
    }

    /// "Cannot generate: " and the reason.
    pub fn cannot_generate(self) -> Message {
        Message::Notice(Notice::CannotGenerate, vec![self.message()])
    }
}

/// How the next token is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateOptions {
    /// Sample from the distribution (true) or take the most likely token (false).
    pub sampled: bool,
    /// Divides the logits before the softmax; lower is more confident.
    pub temperature: f32,
    /// Only the `top_k` most likely tokens can be drawn (0 keeps all).
    pub top_k: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            sampled: false,
            temperature: 1.0,
            top_k: 10,
        }
    }
}

/// The next token for `logits` [d_vocab]. `None` when the logits are empty or not finite.
pub fn next_token(
    logits: ArrayView1<'_, f32>,
    options: &GenerateOptions,
    rng: &mut impl Rng,
) -> Option<TokenId> {
    if logits.is_empty() || logits.iter().any(|x| !x.is_finite()) {
        return None;
    }
    // Token ids sorted by logit, highest first; ties keep the lower id first.
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    if !options.sampled {
        return Some(order[0] as TokenId);
    }
    let keep = match options.top_k {
        0 => order.len(),
        k => k.min(order.len()),
    };
    let candidates = &order[..keep];
    let temperature = options.temperature.max(1e-3) as f64;
    let top = logits[candidates[0]] as f64;
    let weights: Vec<f64> = candidates
        .iter()
        .map(|&id| ((logits[id] as f64 - top) / temperature).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut draw = rng.random::<f64>() * total;
    for (&id, weight) in candidates.iter().zip(&weights) {
        if draw < *weight {
            return Some(id as TokenId);
        }
        draw -= weight;
    }
    Some(candidates[keep - 1] as TokenId)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn greedy_takes_the_largest_logit() {
        let logits = array![0.1f32, 2.0, -1.0, 2.0];
        let mut rng = StdRng::seed_from_u64(0);
        let id = next_token(logits.view(), &GenerateOptions::default(), &mut rng);
        assert_eq!(id, Some(1));
    }

    #[test]
    fn top_k_one_is_greedy_and_sampling_follows_the_probabilities() {
        let logits = array![0.0f32, 1.0, 3.0];
        let mut rng = StdRng::seed_from_u64(7);
        let top1 = GenerateOptions {
            sampled: true,
            temperature: 5.0,
            top_k: 1,
        };
        for _ in 0..20 {
            assert_eq!(next_token(logits.view(), &top1, &mut rng), Some(2));
        }
        // Softmax of [0, 1, 3]: p ≈ [0.042, 0.114, 0.844].
        let all = GenerateOptions {
            sampled: true,
            temperature: 1.0,
            top_k: 0,
        };
        let mut counts = [0usize; 3];
        let n = 20_000;
        for _ in 0..n {
            counts[next_token(logits.view(), &all, &mut rng).unwrap() as usize] += 1;
        }
        let expected = [0.0420, 0.1142, 0.8438];
        for (count, p) in counts.iter().zip(expected) {
            let freq = *count as f64 / n as f64;
            assert!((freq - p).abs() < 0.01, "{counts:?}");
        }
    }

    #[test]
    fn bad_logits_give_nothing() {
        let mut rng = StdRng::seed_from_u64(0);
        let nan = array![f32::NAN, 1.0];
        assert_eq!(
            next_token(nan.view(), &GenerateOptions::default(), &mut rng),
            None
        );
    }
}
