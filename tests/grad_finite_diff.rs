//! The hand-written backward against central finite differences in f64, for every parameter
//! tensor of every architectural variant: pre/post-LN, gelu_new/ReLU, residual on/off,
//! tied/untied unembedding with and without `b_U`, attention-only, final norm on/off.
//!
//! Small random models (every weight, LayerNorm scale and bias drawn at random so no gradient
//! is trivially zero), a batch of two sequences, next-token loss. For each tensor a few
//! entries are sampled; each must agree with `(L(θ+h) − L(θ−h))/2h` to a relative error of
//! 1e-5 (absolute 1e-9 near zero).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use residual_explorer::model::backward::{loss_and_grads, next_token_targets};
use residual_explorer::model::{
    Activation, InitOptions, ModelConfig, NormPlacement, Params, TokenId,
};

const STEP: f64 = 1e-5;
const SAMPLES_PER_TENSOR: usize = 6;

fn small_config() -> ModelConfig {
    let mut config = ModelConfig::lesson(11);
    config.d_model = 8;
    config.n_heads = 2;
    config.d_head = 4;
    config.d_mlp = 16;
    config.n_layers = 2;
    config.n_ctx = 8;
    config
}

fn random_model(config: &ModelConfig, seed: u64) -> Params<f64> {
    let mut params = Params::<f64>::init(config, InitOptions { seed, std: 0.4 }).unwrap();
    let mut rng = StdRng::seed_from_u64(seed + 100);
    params.for_each_tensor_mut(|name, mut tensor| {
        let is_scale = name.ends_with(".w");
        tensor.mapv_inplace(|x| {
            let noise = rng.random_range(-0.3..0.3);
            if is_scale { 1.0 + noise } else { x + noise }
        });
    });
    params
}

fn loss(params: &Params<f64>, batch: &[&[TokenId]], targets: &[Option<TokenId>]) -> f64 {
    loss_and_grads(params, batch, targets)
        .unwrap()
        .unwrap()
        .loss
}

fn check_variant(label: &str, config: ModelConfig, seed: u64) {
    let params = random_model(&config, seed);
    let seq_a: Vec<TokenId> = vec![3, 1, 4, 1, 5, 9];
    let seq_b: Vec<TokenId> = vec![2, 6, 5, 3, 5, 10];
    let batch: Vec<&[TokenId]> = vec![&seq_a, &seq_b];
    let tokens: Vec<TokenId> = seq_a.iter().chain(&seq_b).copied().collect();
    let targets = next_token_targets(&tokens, seq_a.len());
    let analytic = loss_and_grads(&params, &batch, &targets)
        .unwrap()
        .unwrap()
        .grads;

    let mut analytic_tensors = Vec::new();
    analytic.for_each_tensor(|name, tensor| {
        analytic_tensors.push((name, tensor.iter().copied().collect::<Vec<f64>>()))
    });
    let mut rng = StdRng::seed_from_u64(seed);
    let mut checked = 0;
    for (tensor_index, (name, grad)) in analytic_tensors.iter().enumerate() {
        let samples: Vec<usize> = (0..SAMPLES_PER_TENSOR.min(grad.len()))
            .map(|_| rng.random_range(0..grad.len()))
            .collect();
        for &entry in &samples {
            let shifted = |delta: f64| {
                let mut moved = params.clone();
                let mut index = 0;
                moved.for_each_tensor_mut(|_, mut tensor| {
                    if index == tensor_index {
                        let slot = tensor.iter_mut().nth(entry).unwrap();
                        *slot += delta;
                    }
                    index += 1;
                });
                loss(&moved, &batch, &targets)
            };
            let numeric = (shifted(STEP) - shifted(-STEP)) / (2.0 * STEP);
            let ours = grad[entry];
            let error = (ours - numeric).abs();
            let scale = ours.abs() + numeric.abs();
            assert!(
                error <= 1e-9 || error / scale <= 1e-5,
                "{label}: {name}[{entry}] analytic {ours:e} vs numeric {numeric:e}"
            );
            checked += 1;
        }
    }
    let tensor_count = analytic_tensors.len();
    assert!(checked >= tensor_count, "{label}: every tensor sampled");
}

#[test]
fn gpt2_variant_pre_ln_gelu_tied_residual_final_norm() {
    check_variant("gpt2", small_config(), 1);
}

#[test]
fn textbook_variant_post_ln_relu_untied_with_bias() {
    let mut config = small_config();
    config.norm = NormPlacement::Post;
    config.activation = Activation::Relu;
    config.tied_unembed = false;
    config.unembed_bias = true;
    check_variant("textbook", config, 2);
}

#[test]
fn residual_off_pre_ln() {
    let mut config = small_config();
    config.residual = false;
    check_variant("no residual pre-LN", config, 3);
}

#[test]
fn residual_off_post_ln_relu() {
    let mut config = small_config();
    config.residual = false;
    config.norm = NormPlacement::Post;
    config.activation = Activation::Relu;
    check_variant("no residual post-LN", config, 4);
}

#[test]
fn attention_only_without_final_norm_untied() {
    let mut config = small_config();
    config.attn_only = true;
    config.final_norm = false;
    config.tied_unembed = false;
    check_variant("attention-only", config, 5);
}

#[test]
fn attention_only_post_ln_tied_with_bias() {
    let mut config = small_config();
    config.attn_only = true;
    config.norm = NormPlacement::Post;
    config.unembed_bias = true;
    check_variant("attention-only post-LN", config, 6);
}

#[test]
fn pre_ln_relu_without_final_norm_three_layers() {
    let mut config = small_config();
    config.activation = Activation::Relu;
    config.final_norm = false;
    config.n_layers = 3;
    check_variant("relu no final norm", config, 7);
}
