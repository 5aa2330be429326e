//! Synthetic activations for `bench sae`, made as `shared/bench/torch_sae.py` makes them: each
//! row a sum of 8 of `2 · d_sae` random unit directions with magnitudes uniform in [0, 3),
//! plus Gaussian noise of standard deviation 0.05 — so the loss falls as on real activations
//! and no timing is flattered by zeros.

use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use super::model::normalize_rows;

/// Directions per row.
const ACTIVE: usize = 8;

/// A generator of synthetic batches.
pub struct SyntheticActivations {
    directions: Array2<f32>,
    rng: StdRng,
}

impl SyntheticActivations {
    /// `2 · d_sae` random unit directions in `d_in` dimensions.
    pub fn new(d_in: usize, d_sae: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut directions =
            Array2::from_shape_simple_fn((2 * d_sae, d_in), || StandardNormal.sample(&mut rng));
        normalize_rows(&mut directions);
        Self { directions, rng }
    }

    /// One batch. [rows, d_in]
    pub fn batch(&mut self, rows: usize) -> Array2<f32> {
        let (n, d_in) = self.directions.dim();
        let mut out = Array2::<f32>::zeros((rows, d_in));
        for mut row in out.outer_iter_mut() {
            for _ in 0..ACTIVE {
                let j = self.rng.random_range(0..n);
                let magnitude: f32 = self.rng.random::<f32>() * 3.0;
                row.scaled_add(magnitude, &self.directions.row(j));
            }
            for v in row.iter_mut() {
                let noise: f32 = StandardNormal.sample(&mut self.rng);
                *v += 0.05 * noise;
            }
        }
        out
    }
}
