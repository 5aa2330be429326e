//! Fast statistics of one row of logits over the vocabulary: the top-k tokens and the
//! log-sum-exp that turns a logit into a probability (`p = exp(logit − lse)`).
//!
//! The logit lens of a GPT-2-sized model has tens of millions of logits per trace, so these
//! loops are written for the compiler to vectorize: a 16-lane block maximum screens blocks
//! before the exact top-k insertion, and the exponentials of the normaliser use a
//! branch-free `exp` ([`exp_approx`], within 2 f32 ulps of libm's `expf`) over 16 lanes.
//! Probabilities handed to callers are recomputed with the exact `exp`.

use crate::model::TokenId;
use crate::model::simd::with_widest;

/// Lanes of the vector loops: one AVX-512, two AVX2 or four SSE registers.
const LANES: usize = 16;

/// Values per top-k screening block: scanned one by one only when their maximum beats the
/// current k-th best.
const SCREEN: usize = 32;

/// The `k` largest logits of a row, largest first (ties: the lower id first), and the row's
/// log-sum-exp.
#[derive(Clone, Debug, PartialEq)]
pub struct RowSummary {
    /// Ids of the top-k tokens, most probable first. [k]
    pub top_ids: Vec<TokenId>,
    /// Their logits. [k]
    pub top_logits: Vec<f32>,
    /// `ln Σ exp(logit)` over the whole row.
    pub log_sum_exp: f32,
}

/// Top-k and log-sum-exp of one row of logits. `k` is clamped to the row's length.
pub fn summarize_row(logits: &[f32], k: usize) -> RowSummary {
    let k = k.min(logits.len());
    let mut top_ids = vec![0; k];
    let mut top_logits = vec![0.0; k];
    let log_sum_exp = summarize_row_into(logits, &mut top_ids, &mut top_logits);
    RowSummary {
        top_ids,
        top_logits,
        log_sum_exp,
    }
}

/// Writes the `top_ids.len()` largest logits of a row and their ids, largest first (ties:
/// the lower id first), and returns the row's log-sum-exp. `top_ids` and `top_logits` have
/// the same length, at most the row's.
///
/// The same code runs compiled for the CPU's widest vectors ([`with_widest`]).
pub fn summarize_row_into(logits: &[f32], top_ids: &mut [TokenId], top_logits: &mut [f32]) -> f32 {
    assert!(top_ids.len() == top_logits.len() && top_ids.len() <= logits.len());
    with_widest(
        #[inline(always)]
        || summarize_row_portable(logits, top_ids, top_logits),
    )
}

/// [`summarize_row_into`] for any CPU; inlined into each wide build.
#[inline(always)]
fn summarize_row_portable(logits: &[f32], top_ids: &mut [TokenId], top_logits: &mut [f32]) -> f32 {
    top_k_into(logits, top_ids, top_logits);
    let max = match top_logits.first() {
        Some(&max) => max,
        None => logits.iter().copied().fold(f32::NEG_INFINITY, f32::max),
    };
    if max.is_finite() {
        max + sum_exp_shifted(logits, max).ln() as f32
    } else {
        max
    }
}

/// The `best.len()` largest values with their indices, largest first; equal values keep
/// index order. `ids` and `best` have the same length, at most `values.len()`.
#[inline(always)]
pub fn top_k_into(values: &[f32], ids: &mut [TokenId], best: &mut [f32]) {
    let k = best.len();
    if k == 0 {
        return;
    }
    // Seed with the first k values, then screen the rest block by block against the k-th.
    let mut filled = 0;
    for (index, &value) in values[..k].iter().enumerate() {
        insert(&mut filled, index, value, ids, best);
    }
    let rest = &values[k..];
    let blocks = rest.chunks_exact(SCREEN);
    let tail = blocks.remainder();
    for (block_index, block) in blocks.enumerate() {
        // A vectorizable maximum decides whether the block can contribute at all.
        if block_max(block) <= best[k - 1] {
            continue;
        }
        for (offset, &value) in block.iter().enumerate() {
            insert(
                &mut filled,
                k + block_index * SCREEN + offset,
                value,
                ids,
                best,
            );
        }
    }
    let tail_start = values.len() - tail.len();
    let tail_max = tail.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if tail_max > best[k - 1] || best[k - 1].is_nan() {
        for (offset, &value) in tail.iter().enumerate() {
            insert(&mut filled, tail_start + offset, value, ids, best);
        }
    }
}

/// Puts `value` (at `index`) into the sorted top lists, of which `filled` entries are set.
#[inline(always)]
fn insert(filled: &mut usize, index: usize, value: f32, ids: &mut [TokenId], best: &mut [f32]) {
    let k = best.len();
    let len = *filled;
    if len == k && (value.is_nan() || value <= best[k - 1]) {
        return;
    }
    // Strictly greater: an equal value stays after the earlier (lower) id.
    let at = best[..len].iter().position(|&b| value > b).unwrap_or(len);
    let new_len = (len + 1).min(k);
    // Shift the entries after `at` down by one (an element loop: k is small, and
    // `copy_within` would call memmove for a few values).
    for i in (at + 1..new_len).rev() {
        best[i] = best[i - 1];
        ids[i] = ids[i - 1];
    }
    best[at] = value;
    ids[at] = index as TokenId;
    *filled = new_len;
}

/// Maximum of one block (a NaN is ignored unless everything is NaN).
#[inline(always)]
fn block_max(block: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    for chunk in block.chunks_exact(LANES) {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane = if x > *lane { x } else { *lane };
        }
    }
    lanes.into_iter().fold(f32::NEG_INFINITY, f32::max)
}

/// `Σ exp(x − shift)` over a row, accumulated in 16 f32 lanes and summed in f64.
#[inline(always)]
pub fn sum_exp_shifted(values: &[f32], shift: f32) -> f64 {
    let mut lanes = [0.0f32; LANES];
    let blocks = values.chunks_exact(LANES);
    let tail = blocks.remainder();
    for block in blocks {
        for (lane, &x) in lanes.iter_mut().zip(block) {
            *lane += exp_approx(x - shift);
        }
    }
    let tail_sum: f64 = tail.iter().map(|&x| f64::from((x - shift).exp())).sum();
    lanes.iter().map(|&x| f64::from(x)).sum::<f64>() + tail_sum
}

/// `exp(x)` for `x ≤ 0` (shifted logits), branch-free so that loops over it vectorize:
/// `exp(x) = 2ⁿ·exp(r)` with `n = round(x/ln 2)`, `|r| ≤ ln 2 / 2`, and Cephes's degree-6
/// polynomial for `exp(r)`. Inputs below −87 return exp(−87) ≈ 1.6e-38 instead of a
/// subnormal or 0 (a difference far below any probability we show). Positive inputs up to
/// 88 are exact too; above that the result is meaningless (callers never pass them).
#[inline(always)]
pub fn exp_approx(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5·2²³: adding it rounds to an integer, which lands in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = if x < -87.0 { -87.0 } else { x };
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND; // round(x·log2 e) as a float
    let n_int = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    let r = x - n * LN2_HI - n * LN2_LO;
    let r2 = r * r;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let exp_r = p * r2 + r + 1.0;
    let two_to_n = f32::from_bits(((n_int + 127) << 23) as u32);
    exp_r * two_to_n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_approx_is_within_two_ulps_of_exp() {
        let mut worst_ulps = 0u32;
        for i in 0..=870_000 {
            let x = -(i as f32) * 1e-4;
            let exact = x.exp();
            let ours = exp_approx(x);
            let ulps = (ours.to_bits() as i64 - exact.to_bits() as i64).unsigned_abs() as u32;
            worst_ulps = worst_ulps.max(ulps);
        }
        assert!(worst_ulps <= 2, "{worst_ulps} ulps");
        assert_eq!(exp_approx(0.0), 1.0);
        assert!(exp_approx(-1000.0) < 2e-38);
    }

    #[test]
    fn top_k_orders_and_breaks_ties_by_id() {
        let mut row: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).sin()).collect();
        row[40] = 5.0;
        row[7] = 5.0; // a tie: id 7 first
        row[99] = 4.0; // in the tail after the last full block
        let RowSummary {
            top_ids: ids,
            top_logits: values,
            ..
        } = summarize_row(&row, 4);
        assert_eq!(&ids[..3], [7, 40, 99]);
        assert_eq!(&values[..3], [5.0, 5.0, 4.0]);
        let mut sorted: Vec<(f32, usize)> = row.iter().copied().zip(0..).collect();
        sorted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        assert_eq!(ids[3] as usize, sorted[3].1);
        assert_eq!(summarize_row(&row, 1000).top_ids.len(), 100);
    }

    #[test]
    fn top_k_agrees_with_a_full_sort_on_many_rows_with_ties() {
        let mut state = 12345u64;
        for len in [1usize, 5, 63, 64, 65, 130, 1000] {
            for k in [1usize, 3, 5, 64] {
                let k = k.min(len);
                // Values on a coarse grid, so that ties are common.
                let row: Vec<f32> = (0..len)
                    .map(|_| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                        ((state >> 33) % 40) as f32 * 0.25
                    })
                    .collect();
                let mut order: Vec<usize> = (0..len).collect();
                order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
                let summary = summarize_row(&row, k);
                let want: Vec<TokenId> = order[..k].iter().map(|&i| i as TokenId).collect();
                assert_eq!(summary.top_ids, want, "len {len} k {k}");
            }
        }
    }

    #[test]
    fn log_sum_exp_matches_the_plain_formula() {
        let row: Vec<f32> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f32 * 0.01 - 3.0)
            .collect();
        let exact = row.iter().map(|&x| f64::from(x).exp()).sum::<f64>().ln();
        let summary = summarize_row(&row, 3);
        assert!((f64::from(summary.log_sum_exp) - exact).abs() < 1e-5);
        assert_eq!(summary.top_logits[0], 6.99);
    }
}
