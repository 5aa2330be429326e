//! `residual-explorer trace`: run a model on a prompt, print the activations.

use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::model::forward;
use crate::model::io::load_any;

/// `trace` options.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("input").required(true).args(["text", "tokens"]))]
pub struct TraceArgs {
    /// The model file or folder.
    #[arg(long)]
    pub model: PathBuf,
    /// A prompt, encoded with the model's tokenizer.
    #[arg(long)]
    pub text: Option<String>,
    /// Token ids, comma-separated: 1,2,3.
    #[arg(long)]
    pub tokens: Option<String>,
    /// How many predictions per position in the logit lens.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the trace command.
pub fn run(args: &TraceArgs) -> Result<(), CliError> {
    let model = load_any(&args.model).map_err(CliError::input)?;
    let ids = match (&args.text, &args.tokens) {
        (Some(text), _) => {
            let encoding = model.tokenizer.encode(text);
            if let Some(bad) = encoding.unknown.first() {
                return Err(CliError::input(format!(
                    "{:?} at character {} is not in the model's vocabulary",
                    bad.text, bad.char_offset
                )));
            }
            encoding.ids
        }
        (None, Some(list)) => parse_token_list(list)?,
        (None, None) => return Err(CliError::usage("give --text or --tokens")),
    };
    let trace = forward(&model.params, &ids).map_err(CliError::input)?;
    println!("{} tokens, loss {:?}", trace.n_pos, trace.loss());
    Ok(())
}

/// Parses `1,2,3` (spaces allowed) into ids; an empty list or a non-number is an error.
pub fn parse_token_list(list: &str) -> Result<Vec<u32>, CliError> {
    let ids: Result<Vec<u32>, _> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u32>()
                .map_err(|_| CliError::input(format!("{s:?} is not a token id")))
        })
        .collect();
    let ids = ids?;
    if ids.is_empty() {
        return Err(CliError::input("the token list is empty"));
    }
    Ok(ids)
}
