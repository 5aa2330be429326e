//! `residual-explorer trace --model PATH (--text STR | --tokens 1,2,3) [--top-k K] [--json]
//! [--analysis [--pos P] [--target ID|top]]`: run a model on a prompt and print every
//! activation as one JSON object (see [`json`] for its exact keys; `--analysis` adds the
//! numbers of the Contributions view, see [`analysis`]), or a readable table of the
//! predictions.
//!
//! Exit codes: 0 success; 1 a bad model or bad input (token ids outside the vocabulary, an
//! empty list, something that is not a number, more tokens than the context, text with
//! characters the tokenizer does not know, `--pos` past the end, a `--target` outside the
//! vocabulary); 2 bad usage (clap: a missing or doubled input,
//! `--top-k 0`, an unknown flag).

pub mod analysis;
pub mod json;

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use clap::builder::RangedU64ValueParser;

use super::CliError;
use crate::interp::vocab_rows::summarize_row;
use crate::model::io::{LoadedModel, load_any};
use crate::model::{TokenId, Trace, forward};

/// `trace` options.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("input").required(true).args(["text", "tokens"]))]
pub struct TraceArgs {
    /// The model: a native .safetensors file, a Hugging Face GPT-2 folder, or an llm.c .bin.
    #[arg(long)]
    pub model: PathBuf,
    /// A prompt, encoded with the model's tokenizer.
    #[arg(long, allow_hyphen_values = true)]
    pub text: Option<String>,
    /// Token ids, comma-separated: 1,2,3.
    #[arg(long, allow_hyphen_values = true)]
    pub tokens: Option<String>,
    /// Predictions per position in the logit lens and the table (at most d_vocab are shown).
    #[arg(long, default_value_t = 5, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub top_k: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Add to the JSON object (implies --json) what the Contributions view computes at one
    /// position: the terms of the final stream, their direct logit attribution to a target
    /// token, and every head's output.
    #[arg(long)]
    pub analysis: bool,
    /// The position --analysis looks at (default: the last).
    #[arg(long, requires = "analysis")]
    pub pos: Option<usize>,
    /// The token whose logit --analysis attributes: an id, or `top` (default) for the
    /// model's most probable next token at the position.
    #[arg(long, requires = "analysis", value_parser = analysis::parse_target)]
    pub target: Option<analysis::TargetChoice>,
}

/// Runs the trace command.
pub fn run(args: &TraceArgs) -> Result<(), CliError> {
    let model = load_any(&args.model).map_err(CliError::input)?;
    let ids = match (&args.text, &args.tokens) {
        (Some(text), _) => encode_text(&model, text)?,
        (None, Some(list)) => parse_token_list(list)?,
        (None, None) => return Err(CliError::usage("give --text or --tokens")),
    };
    let trace = forward(&model.params, &ids).map_err(CliError::input)?;
    let extra = match args.analysis {
        true => {
            let target = args.target.unwrap_or(analysis::TargetChoice::Top);
            let computed = analysis::analysis(&model, &trace, args.pos, target)
                .map_err(|e| CliError::input(e.0))?;
            Some(computed)
        }
        false => None,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = if args.json || args.analysis {
        json::write_trace_json(&mut out, &model, &trace, args.top_k, extra)
    } else {
        write_table(&mut out, &model, &trace, args.top_k)
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // The reader stopped reading (`| head`): what it wanted was written.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::input(format!("could not write the output: {e}"))),
    }
}

/// Encodes `text` with the model's tokenizer; a piece it does not know is an error.
pub fn encode_text(model: &LoadedModel, text: &str) -> Result<Vec<TokenId>, CliError> {
    let encoding = model.tokenizer.encode(text);
    if let Some(bad) = encoding.unknown.first() {
        let what = if model.tokenizer.accepts_text() {
            format!("the {} tokenizer", model.tokenizer.kind())
        } else {
            "this model (it has no tokenizer: give token ids)".to_string()
        };
        return Err(CliError::input(format!(
            "{:?} at character {} is not in the vocabulary of {what}",
            bad.text, bad.char_offset
        )));
    }
    if encoding.ids.is_empty() {
        return Err(CliError::input(
            "the text gives no tokens: give a non-empty prompt",
        ));
    }
    Ok(encoding.ids)
}

/// Parses `1,2,3` (spaces around ids allowed) into ids; an empty list or anything that is
/// not a non-negative integer is an error (exit 1).
pub fn parse_token_list(list: &str) -> Result<Vec<TokenId>, CliError> {
    let pieces: Vec<&str> = list.split(',').map(str::trim).collect();
    if pieces.iter().all(|p| p.is_empty()) {
        return Err(CliError::input(
            "the token list is empty: give ids like 1,2,3",
        ));
    }
    pieces
        .iter()
        .enumerate()
        .map(|(index, piece)| {
            piece.parse::<TokenId>().map_err(|_| {
                CliError::input(format!(
                    "{piece:?} (item {} of the token list) is not a token id: ids are whole \
                     numbers from 0 to {}",
                    index + 1,
                    TokenId::MAX
                ))
            })
        })
        .collect()
}

/// The readable table: every position with its token, the model's top predictions for the
/// next token, the actual next token's probability, and the loss.
fn write_table(
    out: &mut impl Write,
    model: &LoadedModel,
    trace: &Trace<f32>,
    top_k: usize,
) -> std::io::Result<()> {
    let config = &model.params.config;
    let tokenizer = &model.tokenizer;
    writeln!(
        out,
        "{}: {} layers, d_model {}, vocabulary {} ({}), {}",
        model.name,
        config.n_layers,
        config.d_model,
        config.d_vocab,
        tokenizer.kind(),
        crate::state::plural::count(trace.n_pos, "token", "tokens")
    )?;
    writeln!(
        out,
        "{:>5}  {:<12} {:<12} {:>9}  top predictions (probability)",
        "pos", "token", "next", "p(next)"
    )?;
    for (pos, &token) in trace.tokens.iter().enumerate() {
        let logits = trace.logits.row(pos);
        let logits = logits.as_slice().expect("logit rows are contiguous");
        let summary = summarize_row(logits, top_k);
        let prob = |id: TokenId| (logits[id as usize] - summary.log_sum_exp).exp();
        let (next, p_next) = match trace.tokens.get(pos + 1) {
            Some(&next) => (tokenizer.display_token(next), format!("{:.4}", prob(next))),
            None => (String::new(), String::new()),
        };
        let predictions: Vec<String> = summary
            .top_ids
            .iter()
            .map(|&id| format!("{} ({:.4})", tokenizer.display_token(id), prob(id)))
            .collect();
        writeln!(
            out,
            "{pos:>5}  {:<12} {next:<12} {p_next:>9}  {}",
            tokenizer.display_token(token),
            predictions.join("  ")
        )?;
    }
    match trace.loss() {
        Some(loss) => writeln!(
            out,
            "loss {loss:.6} nats/token: mean next-token cross-entropy over positions 0..={}",
            trace.n_pos - 2
        ),
        None => writeln!(out, "loss: none (a single token has no next token)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lists_parse_and_refuse_garbage() {
        assert_eq!(parse_token_list("1, 2,3").unwrap(), vec![1, 2, 3]);
        for bad in ["", " , ", "1,,2", "1,x", "-1", "1.5", "99999999999", "1 2"] {
            let error = parse_token_list(bad).unwrap_err();
            assert_eq!(error.code, 1, "{bad:?}");
        }
    }
}
