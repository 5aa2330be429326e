//! `residual-explorer info --model PATH`: config, parameter counts, tokenizer.

use super::{CliError, ModelArg};
use crate::model::io::load_any;

/// Prints what a model file holds.
pub fn run(args: &ModelArg) -> Result<(), CliError> {
    let model = load_any(&args.model).map_err(CliError::input)?;
    let config = &model.params.config;
    println!("model       {}", model.name);
    println!(
        "config      {}",
        serde_json::to_string(config).map_err(CliError::input)?
    );
    for (component, count) in config.parameter_counts() {
        println!("params      {component:<14} {count:>12}");
    }
    println!(
        "params      {:<14} {:>12}",
        "total",
        config.parameter_count()
    );
    println!(
        "tokenizer   {} ({} tokens)",
        model.tokenizer.kind(),
        model.tokenizer.vocab_size()
    );
    Ok(())
}
