//! The Hugging Face GPT-2 loader against the fixture (tests/data/gpt2-tiny): the folder, the
//! `.safetensors` file with config.json beside it, and copies re-written here with bare key
//! names plus the causal-mask buffers, in F16 and BF16, and with an untied `lm_head`.

mod io_support;

use io_support::*;
use residual_explorer::model::io::hf::load_gpt2;
use residual_explorer::model::io::load_any;
use residual_explorer::model::tokenizer::Tokenizer;
use safetensors::Dtype;

/// Same tolerance as the fixture README's for activations and logits.
const ATOL: f64 = 1e-4;

#[test]
fn folder_loads_and_reproduces_the_logits() {
    let model = load_gpt2(&fixture_dir()).unwrap();
    assert_eq!(model.name, "gpt2-tiny");
    assert_eq!(model.tokenizer, Tokenizer::Ids { d_vocab: 96 });
    assert_eq!(model.source.as_deref(), Some(fixture_dir().as_path()));
    let c = &model.params.config;
    assert_eq!(
        (
            c.d_model, c.n_heads, c.d_head, c.n_layers, c.d_mlp, c.d_vocab, c.n_ctx
        ),
        (64, 4, 16, 2, 256, 96, 64)
    );
    let diff = logits_max_diff(&model.params);
    assert!(diff <= ATOL, "logits differ by {diff:e}");
}

#[test]
fn the_safetensors_file_with_config_beside_it_loads_the_same() {
    let folder = load_any(&fixture_dir()).unwrap();
    let file = load_any(&fixture_dir().join("model.safetensors")).unwrap();
    assert_eq!(folder.params, file.params);
    assert_eq!(file.name, "gpt2-tiny");
}

/// The fixture with `transformer.` stripped, plus `h.N.attn.bias` [1, 1, n_ctx, n_ctx] and
/// `h.N.attn.masked_bias` [] as in OpenAI's original checkpoints.
fn bare_with_buffers() -> Vec<RawTensor> {
    let mut tensors: Vec<RawTensor> = fixture_tensors()
        .into_iter()
        .map(|mut t| {
            t.name = t.name.strip_prefix("transformer.").unwrap().to_string();
            t
        })
        .collect();
    for layer in 0..2 {
        let n = 64;
        tensors.push(RawTensor {
            name: format!("h.{layer}.attn.bias"),
            shape: vec![1, 1, n, n],
            values: (0..n * n)
                .map(|i| if i % n <= i / n { 1.0 } else { 0.0 })
                .collect(),
        });
        tensors.push(RawTensor {
            name: format!("h.{layer}.attn.masked_bias"),
            shape: vec![],
            values: vec![-1e4],
        });
    }
    tensors
}

#[test]
fn bare_keys_and_mask_buffers_give_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let folder = write_hf_folder(dir.path(), &bare_with_buffers(), Dtype::F32, |_| {});
    let reference = load_gpt2(&fixture_dir()).unwrap();
    let model = load_gpt2(&folder).unwrap();
    assert_eq!(model.params, reference.params);
}

#[test]
fn f16_and_bf16_tensors_are_read_as_f32() {
    let reference = load_gpt2(&fixture_dir()).unwrap().params;
    for (dtype, round) in [
        (
            Dtype::F16,
            (|x: f32| half::f16::from_f32(x).to_f32()) as fn(f32) -> f32,
        ),
        (Dtype::BF16, |x: f32| half::bf16::from_f32(x).to_f32()),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let folder = write_hf_folder(dir.path(), &bare_with_buffers(), dtype, |_| {});
        let model = load_gpt2(&folder).unwrap();
        // Every weight is exactly the f32 weight rounded to the storage type...
        let mut rounded = reference.clone();
        rounded.for_each_tensor_mut(|_, mut t| t.mapv_inplace(round));
        assert_eq!(model.params, rounded, "{dtype:?}");
        // ...and the model still computes nearly the same logits (bf16 keeps 8 bits).
        let diff = logits_max_diff(&model.params);
        let tolerance = if dtype == Dtype::F16 { 0.01 } else { 0.1 };
        assert!(diff <= tolerance, "{dtype:?}: logits differ by {diff:e}");
    }
}

#[test]
fn an_untied_lm_head_is_read_as_its_transpose() {
    // lm_head.weight [V, D] in nn.Linear layout. With a copy of wte the logits are the
    // fixture's; with a scaled copy, W_U must be the scaled transpose.
    for scale in [1.0f32, -2.0] {
        let mut tensors = fixture_tensors();
        let mut lm_head = fixture_tensor("transformer.wte.weight");
        lm_head.name = "lm_head.weight".into();
        lm_head.values.iter_mut().for_each(|x| *x *= scale);
        tensors.push(lm_head);
        let dir = tempfile::tempdir().unwrap();
        let folder = write_hf_folder(dir.path(), &tensors, Dtype::F32, |config| {
            config["tie_word_embeddings"] = false.into();
        });
        let model = load_gpt2(&folder).unwrap();
        assert!(!model.params.config.tied_unembed);
        let w_u = model.params.w_u.as_ref().expect("untied");
        assert_eq!(w_u.shape(), &[64, 96]);
        let expected = model.params.w_e.t().mapv(|x| x * scale);
        assert_eq!(w_u, &expected);
        if scale == 1.0 {
            let diff = logits_max_diff(&model.params);
            assert!(diff <= ATOL, "logits differ by {diff:e}");
        }
    }
}

#[test]
fn a_tied_checkpoint_may_also_store_lm_head() {
    // transformers ignores a stored lm_head when the embeddings are tied; so do we.
    let mut tensors = fixture_tensors();
    let mut lm_head = fixture_tensor("transformer.wte.weight");
    lm_head.name = "lm_head.weight".into();
    tensors.push(lm_head);
    let dir = tempfile::tempdir().unwrap();
    let folder = write_hf_folder(dir.path(), &tensors, Dtype::F32, |_| {});
    let model = load_gpt2(&folder).unwrap();
    assert!(model.params.w_u.is_none());
}

#[test]
fn old_configs_with_n_ctx_and_a_null_n_inner_load() {
    let dir = tempfile::tempdir().unwrap();
    let folder = write_hf_folder(dir.path(), &fixture_tensors(), Dtype::F32, |config| {
        let object = config.as_object_mut().unwrap();
        object.remove("n_positions");
        object.insert("n_ctx".into(), 64.into());
        object.remove("model_type");
    });
    let model = load_gpt2(&folder).unwrap();
    assert_eq!(model.params.config.n_ctx, 64);
    assert_eq!(model.params.config.d_mlp, 256);
}
