//! SAE folders: SAELens's own files (tests/data/sae, made by scripts/sae_fixture.py with
//! SAELens 6.54) open here and encode/decode as SAELens does to 1e-5; ours round-trip
//! exactly; malformed folders and SAEs that do not fit the model are refused with messages.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use residual_explorer::model::io::embedded::try_default_model;
use residual_explorer::model::io::tensors::TensorFile;
use residual_explorer::sae::files::{self, CFG_FILE, WEIGHTS_FILE, parse_cfg};
use residual_explorer::sae::{Architecture, FitError, Sae, SaeConfig, Sidecar, check_fit};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/sae")
        .join(name)
}

fn expected(folder: &Path, name: &str) -> Array2<f32> {
    let path = folder.join("expected.safetensors");
    let file = TensorFile::open(&path).unwrap();
    let shape = file.shape(name).unwrap();
    let values = file.read_f32(&path, name, &shape).unwrap();
    Array2::from_shape_vec((shape[0], shape[1]), values).unwrap()
}

fn assert_close(label: &str, got: &Array2<f32>, want: &Array2<f32>) {
    assert_eq!(got.dim(), want.dim(), "{label}");
    for ((i, j), &w) in want.indexed_iter() {
        let g = got[[i, j]];
        assert!(
            (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
            "{label}[{i},{j}]: ours {g}, SAELens {w}"
        );
    }
}

#[test]
fn saelens_folders_encode_and_decode_as_saelens_does() {
    let cases = [
        ("standard", "standard"),
        ("topk", "topk"),
        ("topk_rescaled", "topk"),
        ("topk_negative", "topk"),
        ("jumprelu", "jumprelu"),
        ("standard_layer_norm", "standard"),
        ("standard_constant_norm", "standard"),
    ];
    for (name, architecture) in cases {
        let folder = fixture(name);
        let sae = files::load(&folder)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .sae;
        assert_eq!(sae.config.architecture.name(), architecture, "{name}");
        assert_eq!(sae.config.hook_name(), Some("blocks.1.hook_resid_post"));
        let x = expected(&folder, "x");
        let (acts, recon) = sae.encode_decode(x.view());
        assert_close(
            &format!("{name} feature_acts"),
            &acts,
            &expected(&folder, "feature_acts"),
        );
        assert_close(
            &format!("{name} sae_out"),
            &recon,
            &expected(&folder, "sae_out"),
        );
        assert_close(&format!("{name} encode"), &sae.encode(x.view()), &acts);
    }
    // The fixtures exercise what they claim to: in topk_negative some of a row's top 5 are
    // zeroed by the ReLU after the choice.
    let folder = fixture("topk_negative");
    let acts = expected(&folder, "feature_acts");
    assert!(
        acts.outer_iter()
            .any(|row| row.iter().filter(|&&a| a > 0.0).count() < 5)
    );
    let rescaled = files::load(&fixture("topk_rescaled")).unwrap().sae;
    assert!(rescaled.config.rescale_acts_by_decoder_norm);
}

#[test]
fn our_folders_round_trip_exactly_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    for architecture in [
        Architecture::TopK { k: 4 },
        Architecture::Standard,
        Architecture::JumpRelu,
    ] {
        let mut config = SaeConfig::new(12, 40, architecture);
        config
            .metadata
            .insert("hook_name".into(), "blocks.0.hook_mlp_out".into());
        let mut sae = Sae::<f32>::init(config, 9);
        sae.b_enc
            .iter_mut()
            .enumerate()
            .for_each(|(j, b)| *b = j as f32 * 0.01 - 0.2);
        if let Some(threshold) = &mut sae.threshold {
            threshold.fill(0.125);
        }
        let sidecar = Sidecar {
            labels: [(3, "speaker names".to_string())].into(),
            training: None,
        };
        let folder = dir.path().join(architecture.name());
        files::save(&folder, &sae, Some(&sidecar)).unwrap();
        let loaded = files::load(&folder).unwrap();
        let mut expected_config = sae.config.clone();
        expected_config.metadata = loaded.sae.config.metadata.clone();
        assert_eq!(loaded.sae.config, expected_config);
        assert_eq!(loaded.sae.w_enc_t, sae.w_enc_t);
        assert_eq!(loaded.sae.w_dec, sae.w_dec);
        assert_eq!(loaded.sae.b_enc, sae.b_enc);
        assert_eq!(loaded.sae.b_dec, sae.b_dec);
        assert_eq!(loaded.sae.threshold, sae.threshold);
        assert_eq!(loaded.sidecar, sidecar);
        assert_eq!(loaded.sae.config.hook_name(), Some("blocks.0.hook_mlp_out"));
        assert!(loaded.sae.config.metadata.contains_key("sae_lens_version"));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }
}

/// Writes a copy of the `standard` fixture with `cfg.json` replaced by `cfg`.
fn folder_with_cfg(dir: &Path, cfg: &str) -> PathBuf {
    let folder = dir.join(format!("case{}", std::fs::read_dir(dir).unwrap().count()));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(
        fixture("standard").join(WEIGHTS_FILE),
        folder.join(WEIGHTS_FILE),
    )
    .unwrap();
    std::fs::write(folder.join(CFG_FILE), cfg).unwrap();
    folder
}

#[test]
fn malformed_folders_are_refused_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture("standard").join(CFG_FILE)).unwrap();
    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "not valid JSON"),
        ("[1, 2]".into(), "JSON object"),
        (good.replace("\"d_in\": 8", "\"d_in\": -8"), "d_in"),
        (good.replace("\"d_in\": 8,", ""), "missing \"d_in\""),
        (good.replace("\"d_in\": 8", "\"d_in\": 9"), "shape [8, 16]"),
        (
            good.replace("\"d_sae\": 16", "\"d_sae\": 1000000000000"),
            "larger than",
        ),
        (
            good.replace("\"standard\"", "\"gated\""),
            "\"gated\" is not supported",
        ),
        (good.replace("\"standard\"", "\"topk\""), "needs \"k\""),
        (
            good.replace("\"none\"", "\"sometimes\""),
            "normalize_activations",
        ),
    ];
    for (cfg, message) in cases {
        let folder = folder_with_cfg(dir.path(), &cfg);
        let error = files::load(&folder).map(|_| ()).unwrap_err().to_string();
        assert!(error.contains(message), "{message:?} not in {error:?}");
        assert!(error.contains("case"), "the error names the file: {error}");
    }
    // A missing folder, a missing or truncated weights file.
    let missing = files::load(&dir.path().join("nowhere"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains(CFG_FILE), "{missing}");
    let folder = folder_with_cfg(dir.path(), &good);
    let bytes = std::fs::read(folder.join(WEIGHTS_FILE)).unwrap();
    std::fs::write(folder.join(WEIGHTS_FILE), &bytes[..bytes.len() / 2]).unwrap();
    let truncated = files::load(&folder).unwrap_err().to_string();
    assert!(truncated.contains(WEIGHTS_FILE), "{truncated}");
    std::fs::remove_file(folder.join(WEIGHTS_FILE)).unwrap();
    assert!(files::load(&folder).is_err());
    // k larger than d_sae.
    let topk = std::fs::read_to_string(fixture("topk").join(CFG_FILE)).unwrap();
    let error = parse_cfg(topk.replace("\"k\": 3", "\"k\": 99").as_bytes()).unwrap_err();
    assert!(
        error.contains("\"k\" must be an integer in 1..=16"),
        "{error}"
    );
}

#[test]
fn pre_6_configs_are_read_as_saelens_reads_them() {
    let cfg = r#"{"d_in": 8, "d_sae": 16, "hook_point": "blocks.1.hook_resid_pre",
        "model_name": "gpt2", "activation_fn": "topk", "activation_fn_kwargs": {"k": 2},
        "normalize_activations": false, "dtype": "float32", "device": "cpu"}"#;
    let config = parse_cfg(cfg.as_bytes()).unwrap();
    assert_eq!(config.architecture, Architecture::TopK { k: 2 });
    assert_eq!(config.hook_name(), Some("blocks.1.hook_resid_pre"));
    assert_eq!(config.model_name(), Some("gpt2"));
    assert!(config.apply_b_dec_to_input);
}

#[test]
fn an_sae_that_does_not_fit_the_model_is_refused() {
    let model = try_default_model().unwrap();
    let config = &model.params.config;
    // The fixture reads 8-wide vectors; the default model's stream is 128 wide.
    let small = files::load(&fixture("standard")).unwrap().sae;
    let error = check_fit(&small.config, config).unwrap_err();
    assert!(
        matches!(
            error,
            FitError::Width {
                d_in: 8,
                d_model: 128,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("8 values"), "{error}");
    let mut wide = SaeConfig::new(128, 64, Architecture::TopK { k: 4 });
    assert_eq!(check_fit(&wide, config).unwrap_err(), FitError::NoHook);
    wide.metadata
        .insert("hook_name".into(), "blocks.9.hook_resid_post".into());
    let error = check_fit(&wide, config).unwrap_err().to_string();
    assert!(error.contains("4 blocks"), "{error}");
    wide.metadata
        .insert("hook_name".into(), "blocks.1.hook_z".into());
    assert!(check_fit(&wide, config).is_err());
    wide.metadata
        .insert("hook_name".into(), "blocks.3.hook_resid_post".into());
    assert_eq!(
        check_fit(&wide, config).unwrap().name(),
        "blocks.3.hook_resid_post"
    );
}
