//! The native format: exact f32 round trips for every architectural variant and tokenizer,
//! f16 storage, the metadata a plain safetensors reader sees, atomic saving, `load_any`'s
//! choice of format, and the embedded default model.

mod io_support;

use io_support::*;
use residual_explorer::model::bpe::{BpeData, BpeTokenizer};
use residual_explorer::model::io::embedded::{
    LESSON_CHARS, default_model, seeded_lesson_model, try_default_model,
};
use residual_explorer::model::io::native::{
    FORMAT_MARKER, is_native, load_native, load_native_bytes, save_native, save_native_as,
};
use residual_explorer::model::io::tensors::StorageDtype;
use residual_explorer::model::io::{LoadedModel, load_any, load_bytes};
use residual_explorer::model::tokenizer::{CharTokenizer, Tokenizer, WordTokenizer};
use residual_explorer::model::{
    Activation, InitOptions, ModelConfig, NormPlacement, Params, forward,
};
use safetensors::SafeTensors;

fn small_config() -> ModelConfig {
    ModelConfig {
        d_model: 8,
        n_heads: 2,
        d_head: 4,
        n_layers: 2,
        d_mlp: 16,
        d_vocab: 11,
        n_ctx: 6,
        ..ModelConfig::lesson(11)
    }
}

/// Every variant the config allows, with non-trivial values in every tensor (biases and
/// LayerNorms included, which `init` leaves at 0 and 1).
fn variants() -> Vec<ModelConfig> {
    let base = small_config();
    vec![
        base.clone(),
        ModelConfig {
            norm: NormPlacement::Post,
            activation: Activation::Relu,
            residual: false,
            ..base.clone()
        },
        ModelConfig {
            tied_unembed: false,
            unembed_bias: true,
            final_norm: false,
            ..base.clone()
        },
        ModelConfig {
            attn_only: true,
            ..base
        },
    ]
}

fn model_of(config: &ModelConfig, tokenizer: Tokenizer) -> LoadedModel {
    let mut params = Params::<f32>::init(config, InitOptions { seed: 3, std: 0.5 }).unwrap();
    let mut k = 0u32;
    params.for_each_tensor_mut(|_, mut t| {
        t.iter_mut().for_each(|x| {
            k += 1;
            *x += (k as f32 * 0.37).sin() * 0.1;
        })
    });
    LoadedModel {
        params,
        tokenizer,
        name: "round trip ✓".into(),
        source: None,
    }
}

#[test]
fn every_variant_round_trips_exactly_in_f32() {
    let dir = tempfile::tempdir().unwrap();
    for (i, config) in variants().iter().enumerate() {
        let model = model_of(config, Tokenizer::Ids { d_vocab: 11 });
        let path = dir.path().join(format!("v{i}.safetensors"));
        save_native(&path, &model).unwrap();
        let back = load_native(&path).unwrap();
        assert_eq!(back.params, model.params, "variant {i}");
        assert_eq!(back.tokenizer, model.tokenizer);
        assert_eq!(back.name, "round trip ✓");
        assert_eq!(back.source.as_deref(), Some(path.as_path()));
        // load_any recognises the marker.
        assert_eq!(load_any(&path).unwrap().params, model.params);
    }
}

#[test]
fn every_tokenizer_kind_round_trips() {
    let bpe = BpeTokenizer::new(BpeData {
        vocab: hand_vocab(&HELLO_MERGES),
        merges: HELLO_MERGES
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        special_tokens: vec![],
    })
    .unwrap();
    let mut config = small_config();
    config.d_vocab = bpe.vocab_size();
    let tokenizers = [
        Tokenizer::Char(CharTokenizer::from_text("hello wörld\n")),
        Tokenizer::Word(WordTokenizer::from_text("the cat sat")),
        Tokenizer::Bpe(bpe),
    ];
    for tokenizer in tokenizers {
        let model = model_of(&config, tokenizer);
        let bytes =
            residual_explorer::model::io::native::native_bytes(&model, StorageDtype::F32).unwrap();
        let back = load_native_bytes(&bytes, std::path::Path::new("mem")).unwrap();
        assert_eq!(back.tokenizer, model.tokenizer);
        assert_eq!(
            back.tokenizer.encode("Hello world"),
            model.tokenizer.encode("Hello world")
        );
    }
}

#[test]
fn f16_storage_halves_the_file_and_loads_rounded_values() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_of(&small_config(), Tokenizer::Ids { d_vocab: 11 });
    let (f32_path, f16_path) = (
        dir.path().join("a.safetensors"),
        dir.path().join("b.safetensors"),
    );
    save_native_as(&f32_path, &model, StorageDtype::F32).unwrap();
    save_native_as(&f16_path, &model, StorageDtype::F16).unwrap();
    let back = load_native(&f16_path).unwrap();
    let mut rounded = model.params.clone();
    rounded.for_each_tensor_mut(|_, mut t| t.mapv_inplace(|x| half::f16::from_f32(x).to_f32()));
    assert_eq!(back.params, rounded);
    // The data section (after the 8-byte length and the JSON header) is exactly halved.
    let data_len = |path: &std::path::Path| {
        let bytes = std::fs::read(path).unwrap();
        let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        bytes.len() - 8 - header
    };
    assert_eq!(data_len(&f32_path), 4 * model.params.stored_len());
    assert_eq!(data_len(&f16_path), 2 * model.params.stored_len());
}

#[test]
fn a_plain_safetensors_reader_sees_our_names_shapes_and_metadata() {
    let model = model_of(&variants()[2], Tokenizer::Ids { d_vocab: 11 });
    let bytes =
        residual_explorer::model::io::native::native_bytes(&model, StorageDtype::F32).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["format"], FORMAT_MARKER);
    assert_eq!(meta["format_version"], "1");
    let config: ModelConfig = serde_json::from_str(&meta["config"]).unwrap();
    assert_eq!(config, model.params.config);
    let tokenizer: Tokenizer = serde_json::from_str(&meta["tokenizer"]).unwrap();
    assert_eq!(tokenizer, model.tokenizer);
    assert_eq!(meta["name"], model.name);
    let file = SafeTensors::deserialize(&bytes).unwrap();
    for (name, shape) in model.params.tensor_shapes() {
        let view = file.tensor(&name).unwrap();
        assert_eq!(view.shape(), shape.as_slice(), "{name}");
    }
    assert_eq!(file.len(), model.params.tensor_shapes().len());
    let w_q = file.tensor("blocks.1.attn.W_Q").unwrap();
    let first = f32::from_le_bytes(w_q.data()[..4].try_into().unwrap());
    assert_eq!(first, model.params.blocks[1].attn.w_q[[0, 0, 0]]);
}

#[test]
fn saving_over_a_file_is_atomic_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let a = model_of(&small_config(), Tokenizer::Ids { d_vocab: 11 });
    let mut b = a.clone();
    b.params.w_e.fill(0.5);
    save_native(&path, &a).unwrap();
    save_native(&path, &b).unwrap();
    assert_eq!(load_native(&path).unwrap().params, b.params);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // A failed save (the target is a folder) leaves the folder and no temp file.
    let blocked = dir.path().join("blocked");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("x"), b"x").unwrap();
    let error = save_native(&blocked, &a).unwrap_err();
    assert!(error.to_string().contains("blocked"), "{error}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn hugging_face_files_are_not_mistaken_for_native_ones() {
    let bytes = std::fs::read(fixture_dir().join("model.safetensors")).unwrap();
    assert!(!is_native(&bytes));
    let error = load_native_bytes(&bytes, std::path::Path::new("hf.safetensors")).unwrap_err();
    assert!(error.to_string().contains("config.json"), "{error}");
}

#[test]
fn the_embedded_default_model_is_the_lesson_shape_over_the_corpus_characters() {
    let corpus = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/shakespeare.txt"),
    )
    .unwrap();
    let chars = CharTokenizer::from_text(&corpus);
    assert_eq!(chars.chars.iter().collect::<String>(), LESSON_CHARS);
    let model = try_default_model().expect("the embedded file loads");
    assert_eq!(model.params.config, ModelConfig::lesson(chars.chars.len()));
    assert_eq!(model.tokenizer, Tokenizer::Char(chars.clone()));
    assert!(model.source.is_none());
    let trace = forward(&model.params, &model.tokenizer.encode("To be").ids).unwrap();
    assert!(trace.logits.iter().all(|x| x.is_finite()));
    // The fallback used when the embedded file is damaged has the same shape and tokenizer.
    let fallback = seeded_lesson_model(chars);
    assert_eq!(fallback.params.config, model.params.config);
    assert_eq!(default_model().params.config, model.params.config);
}

#[test]
fn damaged_embedded_bytes_are_an_error_not_a_panic() {
    let good = residual_explorer::model::io::embedded::DEFAULT_MODEL_BYTES;
    for bad in [&good[..0], &good[..100], &good[..good.len() - 1]] {
        let error = load_bytes(bad, std::path::Path::new("<embedded>")).unwrap_err();
        assert!(error.to_string().starts_with("<embedded>:"), "{error}");
    }
}
