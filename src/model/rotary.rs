//! Rotary position embeddings: the cos/sin table of one θ and its application to the rows
//! of one head's queries or keys.
//!
//! The table follows Hugging Face's computation in f32 (`inv_freq[i] = 1/θ^(2i/dim)`, angle
//! `pos·inv_freq[i]`), so long prompts rotate by the same angles as the reference. Pairs are
//! `(x[i], x[i + dim/2])` for the NeoX/Llama `rotate_half` style and `(x[2i], x[2i+1])` for
//! GPT-J's interleaved style; dimensions from `dim` on pass through (partial rotary).

use ndarray::{Array2, ArrayViewMut2};

use super::config::{Rotary, RotaryStyle};
use super::scalar::{Scalar, c};

/// cos and sin of every position's angles for one θ.
#[derive(Clone, Debug, PartialEq)]
pub struct RopeTable<F> {
    /// Which dimensions are paired.
    pub style: RotaryStyle,
    /// Rotated width of a head (even).
    pub dim: usize,
    /// θ of this table.
    pub theta: f64,
    /// cos of `pos · inv_freq[i]`. [n_pos, dim/2]
    pub cos: Array2<F>,
    /// sin of `pos · inv_freq[i]`. [n_pos, dim/2]
    pub sin: Array2<F>,
}

impl<F: Scalar> RopeTable<F> {
    /// The table of `rotary`'s style and width at `theta`, for positions `0..n_pos`.
    pub fn new(rotary: &Rotary, theta: f64, n_pos: usize) -> Self {
        let half = rotary.dim / 2;
        // As Hugging Face computes it, in f32: θ^(2i/dim) with the exponent rounded to f32.
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| 1.0 / (theta as f32).powf((2 * i) as f32 / rotary.dim as f32))
            .collect();
        let angle = |pos: usize, i: usize| f64::from(pos as f32 * inv_freq[i]);
        Self {
            style: rotary.style,
            dim: rotary.dim,
            theta,
            cos: Array2::from_shape_fn((n_pos, half), |(p, i)| {
                c::<F>(f64::from(angle(p, i).cos() as f32))
            }),
            sin: Array2::from_shape_fn((n_pos, half), |(p, i)| {
                c::<F>(f64::from(angle(p, i).sin() as f32))
            }),
        }
    }

    /// Rotates every row of `x` [rows, d_head] in place; row `r` is position `r % n_pos`
    /// (sequences are laid out one after the other).
    pub fn apply(&self, mut x: ArrayViewMut2<'_, F>) {
        let n_pos = self.cos.nrows();
        let half = self.dim / 2;
        for (row, mut values) in x.outer_iter_mut().enumerate() {
            let pos = row % n_pos;
            let (cos, sin) = (self.cos.row(pos), self.sin.row(pos));
            for i in 0..half {
                let (a, b) = match self.style {
                    RotaryStyle::Half => (i, i + half),
                    RotaryStyle::Interleaved => (2 * i, 2 * i + 1),
                };
                let (xa, xb) = (values[a], values[b]);
                values[a] = xa * cos[i] - xb * sin[i];
                values[b] = xb * cos[i] + xa * sin[i];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_keeps_the_norm_and_position_zero_is_the_identity() {
        for style in [RotaryStyle::Half, RotaryStyle::Interleaved] {
            let rotary = Rotary {
                style,
                dim: 4,
                thetas: vec![10_000.0],
            };
            let table = RopeTable::<f64>::new(&rotary, 10_000.0, 3);
            let original = Array2::from_shape_fn((3, 6), |(r, j)| (r * 6 + j) as f64 * 0.1 - 0.7);
            let mut x = original.clone();
            table.apply(x.view_mut());
            assert_eq!(x.row(0), original.row(0), "{style:?}");
            for row in 1..3 {
                let norm = |a: ndarray::ArrayView1<'_, f64>| a.dot(&a);
                let (rotated, before) = (x.row(row), original.row(row));
                // cos and sin are rounded to f32 as Hugging Face computes them, so
                // cos² + sin² = 1 holds to f32 precision.
                assert!((norm(rotated) - norm(before)).abs() < 1e-6 * norm(before));
                // The dimensions past `dim` pass through.
                assert_eq!(
                    rotated.slice(ndarray::s![4..]),
                    before.slice(ndarray::s![4..])
                );
                assert_ne!(
                    rotated.slice(ndarray::s![..4]),
                    before.slice(ndarray::s![..4])
                );
            }
        }
    }

    #[test]
    fn the_half_style_pairs_i_with_i_plus_half() {
        let rotary = Rotary {
            style: RotaryStyle::Half,
            dim: 4,
            thetas: vec![1.0],
        };
        // θ = 1: every inv_freq is 1, so position 1 rotates each pair by one radian.
        let table = RopeTable::<f64>::new(&rotary, 1.0, 2);
        let mut x = Array2::from_shape_vec(
            (2, 4),
            vec![0.0; 4]
                .into_iter()
                .chain([1.0, 0.0, 0.0, 0.0])
                .collect(),
        )
        .unwrap();
        table.apply(x.view_mut());
        let (cos, sin) = ((1.0f32).cos() as f64, (1.0f32).sin() as f64);
        assert!((x[[1, 0]] - cos).abs() < 1e-7 && (x[[1, 2]] - sin).abs() < 1e-7);
        assert_eq!((x[[1, 1]], x[[1, 3]]), (0.0, 0.0));
    }
}
