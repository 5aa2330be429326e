//! Choosing the k largest values of a row: the TopK activation and AuxK's choice among dead
//! features.
//!
//! A row with no mask and room for at least 2k blocks of [`BLOCK`] values goes by block
//! maxima (blocks strided through the row, so their maxima are one vectorized pass): the k-th largest block maximum `t` is at most the k-th largest value (the k blocks
//! above it each hold a value ≥ t), so the k largest values all lie in the blocks whose
//! maximum is ≥ t — about k of them — and only those are scanned, then the k largest of those
//! few candidates are selected. At d_sae 4,096 and k 32 that reads each value once in a
//! vectorized max and compares a few hundred, where a heap over the whole row spent a third
//! of a TopK training step. Other rows (masked, or k large) use a min-heap of the k best so
//! far.

use std::cmp::Ordering;

use crate::model::Scalar;
use crate::model::simd::with_widest;

/// Writes the positions and values of the largest `index.len()` entries of `row` (only where
/// `allowed[j]`, when given) into `index` and `value`, in no particular order, and returns
/// how many were found (fewer than asked when fewer are allowed). A NaN never displaces a
/// chosen value (a row with NaNs is a diverged run, which the trainer reports).
pub fn top_k_into<F: Scalar>(
    row: &[F],
    allowed: Option<&[bool]>,
    index: &mut [u32],
    value: &mut [F],
) -> usize {
    let k = index.len().min(value.len());
    if k == 0 {
        return 0;
    }
    if allowed.is_none() && 2 * k * BLOCK <= row.len() && top_k_by_blocks(row, k, index, value) {
        return k;
    }
    top_k_by_heap(row, allowed, k, index, value)
}

/// Values per block of [`top_k_by_blocks`].
pub const BLOCK: usize = 16;

/// The block-maxima path (see the module comment). `false` when the row's values do not
/// allow it (NaNs leaving fewer than k candidates); nothing is then promised in the outputs.
fn top_k_by_blocks<F: Scalar>(row: &[F], k: usize, index: &mut [u32], value: &mut [F]) -> bool {
    // Block b is the strided set {b, b + blocks, b + 2·blocks, …}: the maxima are then an
    // elementwise max of BLOCK slices, which vectorizes.
    let blocks = row.len().div_ceil(BLOCK);
    let mut maxima = row[..blocks].to_vec();
    with_widest(
        #[inline(always)]
        || {
            for slice in row[blocks..].chunks(blocks) {
                for (m, &v) in maxima.iter_mut().zip(slice) {
                    *m = if v > *m { v } else { *m };
                }
            }
        },
    );
    let mut order = maxima.clone();
    let nth = order.len() - k;
    // NaN maxima sort as equal; a NaN threshold admits no candidate and sends the row to
    // the heap. Candidates are never NaN (`v >= t` is false for NaN).
    order.select_nth_unstable_by(nth, |a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
    let threshold = order[nth];
    let mut candidates: Vec<(F, u32)> = Vec::with_capacity(4 * k);
    for (b, &m) in maxima.iter().enumerate() {
        if m >= threshold {
            for j in (b..row.len()).step_by(blocks) {
                if row[j] >= threshold {
                    candidates.push((row[j], j as u32));
                }
            }
        }
    }
    if candidates.len() < k {
        return false;
    }
    if candidates.len() > k {
        candidates.select_nth_unstable_by(k - 1, |a, b| {
            b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal)
        });
    }
    for ((i, v), &(cv, cj)) in index.iter_mut().zip(value.iter_mut()).zip(&candidates[..k]) {
        *i = cj;
        *v = cv;
    }
    true
}

/// The min-heap path: the k best so far, each new value compared with the worst of them.
fn top_k_by_heap<F: Scalar>(
    row: &[F],
    allowed: Option<&[bool]>,
    k: usize,
    index: &mut [u32],
    value: &mut [F],
) -> usize {
    let mut filled = 0;
    let mut candidates = row.iter().enumerate().filter(|(j, _)| match allowed {
        Some(mask) => mask.get(*j).copied().unwrap_or(false),
        None => true,
    });
    // The first k candidates fill the heap.
    for (j, &v) in candidates.by_ref() {
        index[filled] = j as u32;
        value[filled] = v;
        filled += 1;
        if filled == k {
            break;
        }
    }
    if filled < k {
        return filled;
    }
    for root in (0..k / 2).rev() {
        sift_down(index, value, root, k);
    }
    for (j, &v) in candidates {
        if v > value[0] {
            value[0] = v;
            index[0] = j as u32;
            sift_down(index, value, 0, k);
        }
    }
    k
}

/// Restores the min-heap property below `at` in the first `len` entries.
#[inline]
fn sift_down<F: Scalar>(index: &mut [u32], value: &mut [F], mut at: usize, len: usize) {
    loop {
        let left = 2 * at + 1;
        if left >= len {
            return;
        }
        let right = left + 1;
        let child = if right < len && value[right] < value[left] {
            right
        } else {
            left
        };
        if value[child] >= value[at] {
            return;
        }
        value.swap(child, at);
        index.swap(child, at);
        at = child;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(row: &[f32], allowed: Option<&[bool]>, k: usize) -> Vec<usize> {
        let (mut index, mut value) = (vec![0u32; k], vec![0.0f32; k]);
        let n = top_k_into(row, allowed, &mut index, &mut value);
        for (&j, &v) in index.iter().zip(&value).take(n) {
            assert_eq!(
                row[j as usize].to_bits(),
                v.to_bits(),
                "value matches its position"
            );
        }
        let mut out: Vec<usize> = index[..n].iter().map(|&j| j as usize).collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn the_largest_are_chosen_as_a_sort_would() {
        // A pseudo-random row of distinct values.
        let row: Vec<f32> = (0..4096)
            .map(|i| ((i * 2654435761u64 as usize) % 100_003) as f32 * 0.01 - 500.0)
            .collect();
        // k ≤ 128 takes the block path at 4,096 values, larger k the heap.
        for k in [1, 2, 7, 32, 100, 128, 129, 4096] {
            let mut order: Vec<usize> = (0..row.len()).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            let mut want = order[..k].to_vec();
            want.sort_unstable();
            assert_eq!(chosen(&row, None, k), want, "k = {k}");
        }
    }

    #[test]
    fn the_block_path_runs_and_agrees_with_the_heap() {
        let row: Vec<f32> = (0..4096)
            .map(|i| ((i * 7919) % 4099) as f32 - 2000.0)
            .collect();
        for k in [1, 32, 128] {
            let (mut i_blocks, mut v_blocks) = (vec![0u32; k], vec![0.0f32; k]);
            assert!(
                top_k_by_blocks(&row, k, &mut i_blocks, &mut v_blocks),
                "k = {k}"
            );
            let (mut i_heap, mut v_heap) = (vec![0u32; k], vec![0.0f32; k]);
            assert_eq!(top_k_by_heap(&row, None, k, &mut i_heap, &mut v_heap), k);
            i_blocks.sort_unstable();
            i_heap.sort_unstable();
            assert_eq!(i_blocks, i_heap, "k = {k}");
        }
    }

    #[test]
    fn ties_and_nans_still_give_k_values() {
        let mut row = vec![1.0f32; 512];
        row[7] = 2.0;
        row[300] = f32::NAN;
        let picked = chosen(&row, None, 5);
        assert_eq!(picked.len(), 5);
        assert!(picked.contains(&7) && !picked.contains(&300), "{picked:?}");
        let all_nan = vec![f32::NAN; 512];
        assert_eq!(
            chosen(&all_nan, None, 3).len(),
            3,
            "the heap fills the places"
        );
    }

    #[test]
    fn a_mask_restricts_the_choice_and_may_leave_fewer() {
        let row = [5.0, 4.0, 3.0, 2.0, 1.0, 0.0];
        let allowed = [false, true, false, true, true, false];
        assert_eq!(chosen(&row, Some(&allowed), 2), vec![1, 3]);
        assert_eq!(
            chosen(&row, Some(&allowed), 5),
            vec![1, 3, 4],
            "only 3 allowed"
        );
        assert_eq!(chosen(&row, None, 0), Vec::<usize>::new());
    }
}
