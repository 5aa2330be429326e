//! Choosing the k largest values of a row: the TopK activation and AuxK's choice among dead
//! features. A min-heap of the k best so far; after the first few hundred values almost
//! every value loses one comparison with the heap's root, so a row of 4,096 costs little more
//! than reading it (`torch.topk` sorts blocks instead).

use crate::model::Scalar;

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
            assert_eq!(row[j as usize], v, "value matches its position");
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
        for k in [1, 2, 7, 32, 100, 4096] {
            let mut order: Vec<usize> = (0..row.len()).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            let mut want = order[..k].to_vec();
            want.sort_unstable();
            assert_eq!(chosen(&row, None, k), want, "k = {k}");
        }
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
