//! `residual-explorer sae <train|features>`: sparse autoencoders on a model's hook.
//!
//! Contract:
//! - `sae train --model PATH --hook NAME --features N (--k K | --l1 C) (--corpus FILE |
//!   --task NAME) --tokens N --out DIR [--seed S] [--lr LR] [--batch B] [--json]`: with
//!   `--json`, one JSON line per logged step on stdout with `step`, `tokens`, `mse`,
//!   `explained_variance`, `l0`, `dead_fraction` (and `loss`, `l1_loss`, `aux_loss`,
//!   `elapsed_s`); the last line adds `spliced_loss` (the model's loss on held-out text with
//!   the hook replaced by the reconstruction) and `clean_loss`. The SAE is saved in
//!   SAELens's format to `--out` (atomically) at the end, and on divergence the last good
//!   weights are saved before the error.
//! - `sae features --sae DIR --model PATH --text T [--top N] [--json]`: per token, its top
//!   features and their activations (an SAE that does not fit the model is refused).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde_json::json;

use super::CliError;
use super::trace::encode_text;
use crate::model::forward::forward_batch;
use crate::model::hooks::NoIntervention;
use crate::model::io::{LoadedModel, load_any};
use crate::sae::files::{self, Sidecar};
use crate::sae::{Architecture, HookPoint, SaeRun, SaeRunOptions, check_fit};
use crate::train::data::{BatchSource, TextCorpus};
use crate::train::tasks::task_source;

/// `sae` options.
#[derive(Debug, Args)]
pub struct SaeArgs {
    /// What to do.
    #[command(subcommand)]
    pub what: SaeCommand,
}

/// The `sae` subcommands.
#[derive(Debug, Subcommand)]
pub enum SaeCommand {
    /// Train an SAE on a hook of a model over a corpus or a task.
    Train(SaeTrainArgs),
    /// The top features of every token of a text.
    Features(SaeFeaturesArgs),
}

/// `sae train` options.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("data").required(true).args(["corpus", "task"]))]
#[command(group = clap::ArgGroup::new("kind").required(true).args(["k", "l1"]))]
pub struct SaeTrainArgs {
    /// The model (as `trace --model` takes it).
    #[arg(long)]
    pub model: PathBuf,
    /// The hook, e.g. blocks.2.hook_resid_post.
    #[arg(long)]
    pub hook: String,
    /// Number of features.
    #[arg(long)]
    pub features: usize,
    /// TopK SAE with this many active features per token.
    #[arg(long)]
    pub k: Option<usize>,
    /// Standard (ReLU) SAE with this L1 coefficient.
    #[arg(long)]
    pub l1: Option<f64>,
    /// A UTF-8 text file, tokenized with the model's tokenizer.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// A built-in task: induction, copy, reverse, sentences.
    #[arg(long)]
    pub task: Option<String>,
    /// Activations (tokens) to train on.
    #[arg(long)]
    pub tokens: u64,
    /// The SAE folder to write (SAELens's format).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the weights, the windows and the shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Activations per step.
    #[arg(long, default_value_t = 4096)]
    pub batch: usize,
    /// Tokens per corpus window (at most the model's context).
    #[arg(long, default_value_t = 64)]
    pub seq: usize,
    /// Log every this many steps (and the last).
    #[arg(long, default_value_t = 10)]
    pub log_every: u64,
    /// JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `sae features` options.
#[derive(Debug, Args)]
pub struct SaeFeaturesArgs {
    /// The SAE folder (SAELens's format).
    #[arg(long)]
    pub sae: PathBuf,
    /// The model.
    #[arg(long)]
    pub model: PathBuf,
    /// The text, encoded with the model's tokenizer.
    #[arg(long, allow_hyphen_values = true)]
    pub text: String,
    /// Features listed per token.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs an `sae` command.
pub fn run(args: &SaeArgs) -> Result<(), CliError> {
    match &args.what {
        SaeCommand::Train(train) => run_train(train),
        SaeCommand::Features(features) => run_features(features),
    }
}

/// The data source: a text file tokenized as the model's own tokenizer, or a task.
fn data_source(args: &SaeTrainArgs, model: &LoadedModel) -> Result<Arc<dyn BatchSource>, CliError> {
    match (&args.corpus, &args.task) {
        (Some(path), _) => Ok(Arc::new(
            TextCorpus::from_file_with_tokenizer(path, model.tokenizer.clone())
                .map_err(CliError::input)?,
        )),
        (None, Some(task)) => Ok(Arc::from(task_source(task).map_err(CliError::usage)?)),
        (None, None) => Err(CliError::usage("give --corpus FILE or --task NAME")),
    }
}

fn run_train(args: &SaeTrainArgs) -> Result<(), CliError> {
    let hook = HookPoint::parse(&args.hook).map_err(CliError::usage)?;
    let architecture = match (args.k, args.l1) {
        (Some(k), _) => Architecture::TopK { k },
        (None, Some(_)) => Architecture::Standard,
        (None, None) => return Err(CliError::usage("give --k K or --l1 C")),
    };
    if args.tokens == 0 {
        return Err(CliError::usage("--tokens must be at least 1"));
    }
    let model = Arc::new(load_any(&args.model).map_err(CliError::input)?);
    let data = data_source(args, &model)?;
    let mut options = SaeRunOptions::new(hook, args.features, architecture, args.tokens);
    options.settings.lr = args.lr;
    options.settings.weights.l1 = args.l1.unwrap_or(0.0);
    options.batch = args.batch;
    options.seq = args.seq;
    options.seed = args.seed;
    let started = Instant::now();
    let mut run = SaeRun::new(model, data, options).map_err(CliError::input)?;
    let save = |run: &SaeRun, training: serde_json::Value| {
        let sidecar = Sidecar {
            labels: Default::default(),
            training: Some(training),
        };
        files::save(&args.out, &run.trainer.sae, Some(&sidecar)).map_err(CliError::input)
    };
    let settings = json!({
        "hook": args.hook, "features": args.features, "k": args.k, "l1": args.l1,
        "tokens": args.tokens, "batch": args.batch, "lr": args.lr, "seed": args.seed,
        "seq": args.seq,
    });
    let mut last = None;
    while !run.finished() {
        let metrics = match run.step() {
            Ok(metrics) => metrics,
            Err(error) => {
                save(
                    &run,
                    json!({"settings": settings, "error": error.to_string()}),
                )?;
                return Err(CliError::input(format!(
                    "{error} (the SAE before that step was saved to {})",
                    args.out.display()
                )));
            }
        };
        let log = metrics.step % args.log_every.max(1) == 0 || run.finished();
        if log && !run.finished() {
            print_metrics(&metrics, None, started, args.json);
        }
        last = Some(metrics);
    }
    let spliced = run.spliced_loss().map_err(CliError::input)?;
    if let Some(metrics) = &last {
        print_metrics(metrics, Some(&spliced), started, args.json);
    }
    save(
        &run,
        json!({"settings": settings, "final": last, "loss": spliced,
               "elapsed_s": started.elapsed().as_secs_f64()}),
    )?;
    if !args.json {
        eprintln!(
            "saved {} after {} steps in {:.1} s",
            args.out.display(),
            run.trainer.steps,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn print_metrics(
    metrics: &crate::sae::StepMetrics,
    spliced: Option<&crate::sae::SplicedLoss>,
    started: Instant,
    as_json: bool,
) {
    let elapsed = started.elapsed().as_secs_f64();
    if as_json {
        let mut line = json!({
            "step": metrics.step, "tokens": metrics.tokens, "mse": metrics.mse,
            "explained_variance": metrics.explained_variance, "l0": metrics.l0,
            "dead_fraction": metrics.dead_fraction, "loss": metrics.loss,
            "l1_loss": metrics.l1_loss, "aux_loss": metrics.aux_loss, "elapsed_s": elapsed,
        });
        if let Some(s) = spliced {
            line["spliced_loss"] = json!(s.spliced_loss);
            line["clean_loss"] = json!(s.clean_loss);
        }
        println!("{line}");
    } else {
        let mut text = format!(
            "step {:>6} ({} tokens): mse {:.4}, explained variance {:.3}, L0 {:.1}, dead {:.1} %",
            metrics.step,
            metrics.tokens,
            metrics.mse,
            metrics.explained_variance,
            metrics.l0,
            100.0 * metrics.dead_fraction
        );
        if let Some(s) = spliced {
            text += &format!(
                "; loss with the SAE {:.4} (clean {:.4})",
                s.spliced_loss, s.clean_loss
            );
        }
        eprintln!("{text} [{elapsed:.0} s]");
    }
}

fn run_features(args: &SaeFeaturesArgs) -> Result<(), CliError> {
    let folder = files::load(&args.sae).map_err(CliError::input)?;
    let model = load_any(&args.model).map_err(CliError::input)?;
    let sae = &folder.sae;
    let hook = check_fit(&sae.config, &model.params.config)
        .map_err(|e| CliError::input(format!("{}: {e}", args.sae.display())))?;
    let tokens = encode_text(&model, &args.text)?;
    let trace =
        forward_batch(&model.params, &[&tokens], &NoIntervention).map_err(CliError::input)?;
    let x = hook
        .read(&trace)
        .ok_or_else(|| CliError::input(format!("the model has no {}", hook.name())))?;
    let (codes, recon) = sae.encode_decode(x);
    let mut rows = Vec::new();
    for (pos, ((codes, x), recon)) in codes
        .outer_iter()
        .zip(x.outer_iter())
        .zip(recon.outer_iter())
        .enumerate()
    {
        let mut active: Vec<(usize, f32)> = codes
            .iter()
            .enumerate()
            .filter(|(_, a)| **a > 0.0)
            .map(|(j, &a)| (j, a))
            .collect();
        active.sort_by(|a, b| b.1.total_cmp(&a.1));
        let l0 = active.len();
        active.truncate(args.top);
        let error = (&x - &recon).mapv(|v| v * v).sum().sqrt();
        let features: Vec<_> = active
            .iter()
            .map(|&(j, a)| {
                let mut f = json!({"feature": j, "activation": a});
                if let Some(label) = folder.sidecar.labels.get(&j) {
                    f["label"] = json!(label);
                }
                f
            })
            .collect();
        rows.push(json!({
            "pos": pos,
            "token_id": tokens[pos],
            "token": model.tokenizer.decode_token(tokens[pos]),
            "l0": l0,
            "error_norm": error,
            "features": features,
        }));
    }
    if args.json {
        let out = json!({
            "sae": args.sae.display().to_string(),
            "hook": hook.name(),
            "architecture": sae.config.architecture.name(),
            "d_sae": sae.config.d_sae,
            "tokens": rows,
        });
        println!("{out}");
    } else {
        for row in &rows {
            let features: Vec<String> = row["features"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    format!(
                        "{}:{:.3}",
                        f["feature"],
                        f["activation"].as_f64().unwrap_or(0.0)
                    )
                })
                .collect();
            println!(
                "{:>4} {:<8} L0 {:>3}  {}",
                row["pos"],
                format!("{:?}", row["token"].as_str().unwrap_or("")),
                row["l0"],
                features.join(" ")
            );
        }
    }
    Ok(())
}
