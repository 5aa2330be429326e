//! Training an SAE on the shipped default model, splicing it into the forward pass, and the
//! `sae` command lines: a short TopK run lowers the error to a sane explained variance;
//! ablating a feature moves the stream by exactly its decoder contribution; a diverging run
//! stops with an error and keeps its weights; the CLI writes JSON lines and a folder that
//! `sae features` reads, and refuses what does not fit.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::run_cli;

use ndarray::{Array2, s};
use residual_explorer::model::forward::forward_batch;
use residual_explorer::model::hooks::NoIntervention;
use residual_explorer::model::io::embedded::try_default_model;
use residual_explorer::sae::synthetic::SyntheticActivations;
use residual_explorer::sae::{
    Architecture, FeatureEdit, HookPoint, Sae, SaeConfig, SaeRun, SaeRunOptions, SaeSplice,
    SaeTrainError, SaeTrainer, TrainSettings,
};
use residual_explorer::train::data::TextCorpus;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shakespeare(model: &residual_explorer::model::io::LoadedModel) -> TextCorpus {
    TextCorpus::from_file_with_tokenizer(
        &root().join("data/shakespeare.txt"),
        model.tokenizer.clone(),
    )
    .unwrap()
}

#[test]
fn a_short_topk_run_on_the_default_model_learns() {
    let model = Arc::new(try_default_model().unwrap());
    let corpus = Arc::new(shakespeare(&model));
    let hook = HookPoint::parse("blocks.2.hook_resid_post").unwrap();
    let mut options = SaeRunOptions::new(hook, 512, Architecture::TopK { k: 16 }, 120 * 1024);
    options.batch = 1024;
    options.buffer_batches = 4;
    let mut run = SaeRun::new(model, corpus, options).unwrap();
    let first = run.step().unwrap();
    let mut last = first.clone();
    while !run.finished() {
        last = run.step().unwrap();
    }
    assert_eq!(last.step, 120);
    assert!(
        last.mse < 0.5 * first.mse,
        "mse {} → {}",
        first.mse,
        last.mse
    );
    assert!(
        last.explained_variance > 0.6,
        "explained variance {}",
        last.explained_variance
    );
    assert!(
        (last.l0 - 16.0).abs() < 1.0,
        "TopK keeps k = 16 active: {}",
        last.l0
    );
    // The reconstruction spliced in costs something, but far less than nothing would.
    let loss = run.spliced_loss().unwrap();
    assert!(loss.spliced_loss > loss.clean_loss - 0.05, "{loss:?}");
    assert!(loss.spliced_loss < loss.clean_loss + 1.5, "{loss:?}");
}

#[test]
fn the_standard_kind_keeps_unit_decoder_rows_and_topk_does_not_need_them() {
    let mut data = SyntheticActivations::new(16, 64, 3);
    let x = data.batch(512);
    for (architecture, l1) in [
        (Architecture::Standard, 0.5),
        (Architecture::TopK { k: 4 }, 0.0),
    ] {
        let sae = Sae::<f32>::init(SaeConfig::new(16, 64, architecture), 0);
        let mut trainer = SaeTrainer::new(sae, TrainSettings::new(l1)).unwrap();
        let first = trainer.step(x.view()).unwrap();
        let mut last = first.clone();
        for _ in 0..40 {
            last = trainer.step(x.view()).unwrap();
        }
        assert!(
            last.mse < first.mse,
            "{architecture:?}: {} → {}",
            first.mse,
            last.mse
        );
        let norms = trainer.sae.decoder_norms();
        let unit = norms.iter().all(|n| (n - 1.0).abs() < 1e-4);
        assert_eq!(
            unit,
            architecture == Architecture::Standard,
            "{architecture:?}: {norms}"
        );
    }
}

/// An SAE on the default model's stream whose features fire often (b_enc raised).
fn firing_sae(hook: &str) -> Sae<f32> {
    let mut config = SaeConfig::new(128, 64, Architecture::Standard);
    config.metadata.insert("hook_name".into(), hook.into());
    let mut sae = Sae::<f32>::init(config, 2);
    sae.b_enc.fill(0.5);
    sae
}

#[test]
fn ablating_a_feature_moves_the_stream_by_exactly_its_decoder_contribution() {
    let model = try_default_model().unwrap();
    let tokens = model
        .tokenizer
        .encode("ROMEO:\nWhat light through yonder window")
        .ids;
    let clean = forward_batch(&model.params, &[&tokens], &NoIntervention).unwrap();
    for (hook_name, layer_of_patched) in [
        ("blocks.1.hook_resid_post", Some(2)),
        ("blocks.3.hook_resid_post", None),
    ] {
        let hook = HookPoint::parse(hook_name).unwrap();
        let sae = firing_sae(hook_name);
        let x = hook.read(&clean).unwrap();
        let codes = sae.encode(x);
        let feature = (0..64)
            .max_by_key(|&j| codes.column(j).iter().filter(|&&a| a > 0.0).count())
            .unwrap();
        assert!(codes.column(feature).iter().filter(|&&a| a > 0.0).count() > 3);
        let splice = SaeSplice {
            sae: &sae,
            site: hook.site(model.params.config.n_layers),
            edits: vec![FeatureEdit::Ablate { feature }],
        };
        let patched = forward_batch(&model.params, &[&tokens], &splice).unwrap();
        match layer_of_patched {
            Some(layer) => {
                let moved = &clean.layers[layer].resid_pre - &patched.layers[layer].resid_pre;
                for (pos, row) in moved.outer_iter().enumerate() {
                    let a = codes[[pos, feature]];
                    let want = sae.w_dec.row(feature).mapv(|w| w * a);
                    let gap = (&row - &want).iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    assert!(gap < 1e-5, "{hook_name} pos {pos}: off by {gap}");
                }
                // Earlier blocks are untouched.
                assert_eq!(clean.layers[1].resid_post, patched.layers[1].resid_post);
            }
            None => {
                // The last block's resid_post is what enters ln_final: the logits move.
                assert_eq!(clean.layers[3].resid_post, patched.layers[3].resid_post);
                assert_ne!(clean.logits, patched.logits);
            }
        }
    }
    // Reconstruct replaces the stream by x̂; steering adds α along the unit decoder row.
    let hook = HookPoint::parse("blocks.1.hook_resid_post").unwrap();
    let sae = firing_sae("blocks.1.hook_resid_post");
    let x = hook.read(&clean).unwrap();
    let (_, recon) = sae.encode_decode(x);
    let site = hook.site(model.params.config.n_layers);
    let replaced = forward_batch(
        &model.params,
        &[&tokens],
        &SaeSplice {
            sae: &sae,
            site,
            edits: vec![FeatureEdit::Reconstruct],
        },
    )
    .unwrap();
    assert_eq!(replaced.layers[2].resid_pre, recon);
    let steered = forward_batch(
        &model.params,
        &[&tokens],
        &SaeSplice {
            sae: &sae,
            site,
            edits: vec![FeatureEdit::Steer {
                feature: 5,
                alpha: 2.0,
            }],
        },
    )
    .unwrap();
    let moved: Array2<f32> = &steered.layers[2].resid_pre - &x;
    let want = sae.w_dec.row(5).mapv(|w| 2.0 * w);
    let gap = (&moved.slice(s![0, ..]) - &want)
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(gap < 1e-5, "steering off by {gap}");
}

#[test]
fn a_diverging_run_stops_with_an_error_and_keeps_its_weights() {
    let mut data = SyntheticActivations::new(16, 64, 1);
    let x = data.batch(256);
    let sae = Sae::<f32>::init(SaeConfig::new(16, 64, Architecture::TopK { k: 4 }), 0);
    let mut settings = TrainSettings::new(0.0);
    settings.lr = 1e36;
    let mut trainer = SaeTrainer::new(sae, settings).unwrap();
    let mut failure = None;
    for _ in 0..5 {
        let before = trainer.sae.clone();
        match trainer.step(x.view()) {
            Ok(_) => {}
            Err(error) => {
                assert_eq!(
                    trainer.sae, before,
                    "the weights before the failed step are kept"
                );
                failure = Some(error);
                break;
            }
        }
    }
    let error = failure.expect("a learning rate of 1e36 diverges");
    assert!(matches!(error, SaeTrainError::Diverged { .. }), "{error}");
    assert!(error.to_string().contains("lower learning rate"), "{error}");
    // Settings that cannot work are refused up front.
    let sae = Sae::<f32>::init(SaeConfig::new(16, 64, Architecture::TopK { k: 65 }), 0);
    assert!(SaeTrainer::new(sae, TrainSettings::new(0.0)).is_err());
}

#[test]
fn the_sae_commands_train_save_and_read_features() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sae");
    let model = root().join("models/default.safetensors");
    let corpus = root().join("data/shakespeare.txt");
    let output = run_cli(&[
        "sae",
        "train",
        "--model",
        model.to_str().unwrap(),
        "--hook",
        "blocks.2.hook_resid_post",
        "--features",
        "256",
        "--k",
        "8",
        "--corpus",
        corpus.to_str().unwrap(),
        "--tokens",
        "20480",
        "--batch",
        "1024",
        "--log-every",
        "5",
        "--seed",
        "1",
        "--lr",
        "2e-3",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        4,
        "steps 5, 10, 15 and the last (20): {stdout}"
    );
    for line in &lines {
        for key in ["step", "mse", "explained_variance", "l0", "dead_fraction"] {
            assert!(line[key].is_number(), "{key} in {line}");
        }
    }
    let last = lines.last().unwrap();
    assert_eq!(last["step"], 20);
    assert!(
        last["spliced_loss"].as_f64().unwrap() > 0.0 && last["clean_loss"].as_f64().unwrap() > 0.0
    );
    assert!(lines[0].get("spliced_loss").is_none());
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("cfg.json")).unwrap()).unwrap();
    assert_eq!(cfg["architecture"], "topk");
    assert_eq!(cfg["k"], 8);
    assert_eq!(cfg["metadata"]["hook_name"], "blocks.2.hook_resid_post");

    let features = run_cli(&[
        "sae",
        "features",
        "--sae",
        out.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--text",
        "KING:",
        "--json",
    ]);
    assert_eq!(
        features.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&features.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&features.stdout).unwrap();
    let tokens = json["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 5);
    assert_eq!(tokens[0]["token"], "K");
    let top = tokens[0]["features"].as_array().unwrap();
    assert_eq!(top.len(), 5, "5 of the 8 active features are listed");
    let activations: Vec<f64> = top
        .iter()
        .map(|f| f["activation"].as_f64().unwrap())
        .collect();
    assert!(
        activations.windows(2).all(|w| w[0] >= w[1]),
        "sorted: {activations:?}"
    );

    // An SAE for another width, and a hook the model lacks, are refused.
    let fixture = root().join("tests/data/sae/standard");
    let refused = run_cli(&[
        "sae",
        "features",
        "--sae",
        fixture.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--text",
        "KING:",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("8 values"));
    let bad_hook = run_cli(&[
        "sae",
        "train",
        "--model",
        model.to_str().unwrap(),
        "--hook",
        "blocks.7.hook_resid_post",
        "--features",
        "64",
        "--k",
        "4",
        "--corpus",
        corpus.to_str().unwrap(),
        "--tokens",
        "100",
        "--out",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(bad_hook.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_hook.stderr).contains("4 blocks"));
}
