//! A step's `expect` line: the numbers its text tells the student to read on the screen,
//! written down so that `lesson check` can run the step's set-up (the prompt, the selected
//! token, the target and the interventions in force at that step) and say when the model
//! disagrees with the text.
//!
//! `expect: norm embed = 3.742; logit = 11.5..11.7; top = jumps; prob = 1.000`
//!
//! - `norm STAGE`: the selected token's vector length at a stage, as the residual view's norm
//!   plot shows it;
//! - `logit`, `prob`: the target's logit and probability at the model's output;
//! - `top`: the model's most likely next token after the selected one.
//!
//! A number matches when it is what the screen shows rounded to the decimals written
//! (`3.742` accepts 3.7415 up to 3.7425); `A..B` accepts anything from A to B.

use crate::interp::interventions::{Interventions, forward_with};
use crate::interp::stage::stages;
use crate::model::TokenId;
use crate::model::io::LoadedModel;

/// What a step says the screen shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The quantity read off the screen.
    pub quantity: Quantity,
    /// What the text says it is.
    pub expected: Expected,
}

/// A quantity of the step's screen.
#[derive(Clone, Debug, PartialEq)]
pub enum Quantity {
    /// `norm STAGE`: the selected token's vector length at the stage labelled so.
    Norm(String),
    /// `logit`: the target's logit at the model's output.
    Logit,
    /// `prob`: the target's probability at the model's output.
    Prob,
    /// `top`: the most likely next token.
    Top,
}

/// The value a step states.
#[derive(Clone, Debug, PartialEq)]
pub enum Expected {
    /// A number as written, with its count of decimals.
    Number {
        /// The value.
        value: f64,
        /// Decimals written after the point.
        decimals: u32,
    },
    /// `A..B`, both ends included.
    Range(f64, f64),
    /// A token's text (for `top`).
    Token(String),
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Quantity::Norm(stage) => write!(f, "the norm at {stage}"),
            Quantity::Logit => f.write_str("the target's logit"),
            Quantity::Prob => f.write_str("the target's probability"),
            Quantity::Top => f.write_str("the top prediction"),
        }
    }
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Number { value, decimals } => {
                write!(f, "{value:.prec$}", prec = *decimals as usize)
            }
            Expected::Range(low, high) => write!(f, "{low}..{high}"),
            Expected::Token(text) => write!(f, "{text:?}"),
        }
    }
}

impl Expected {
    /// Whether `value` is what the step states.
    fn accepts(&self, value: f64) -> bool {
        match *self {
            Expected::Number {
                value: want,
                decimals,
            } => {
                let half = 0.5 * 10f64.powi(-(decimals as i32));
                // A hair over half a unit, so that a value printed as `want` is accepted.
                (value - want).abs() <= half * (1.0 + 1e-6)
            }
            Expected::Range(low, high) => (low..=high).contains(&value),
            Expected::Token(_) => false,
        }
    }
}

/// Parses an `expect` value: checks separated by `;`, each `QUANTITY = VALUE`.
pub fn parse_expectations(value: &str) -> Result<Vec<Expectation>, String> {
    let mut list = Vec::new();
    for item in value.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((left, right)) = item.split_once('=') else {
            return Err(format!("expect {item:?} needs `QUANTITY = VALUE`"));
        };
        let (left, right) = (left.trim(), right.trim());
        let quantity = match left {
            "logit" => Quantity::Logit,
            "prob" => Quantity::Prob,
            "top" => Quantity::Top,
            _ => match left.strip_prefix("norm ") {
                Some(stage) => Quantity::Norm(super::state::parse_stage_label(stage.trim())?),
                None => {
                    return Err(format!(
                        "unknown quantity {left:?} in expect; use norm STAGE, logit, prob or top"
                    ));
                }
            },
        };
        let expected = if quantity == Quantity::Top {
            if right.is_empty() {
                return Err("expect top needs a token".into());
            }
            Expected::Token(right.to_string())
        } else {
            parse_number_or_range(right)?
        };
        list.push(Expectation { quantity, expected });
    }
    if list.is_empty() {
        return Err("expect names no check".into());
    }
    Ok(list)
}

fn parse_number_or_range(text: &str) -> Result<Expected, String> {
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{s:?} is not a number (write decimals with a point)"))
    };
    if let Some((low, high)) = text.split_once("..") {
        let (low, high) = (number(low)?, number(high)?);
        if low > high {
            return Err(format!("the range {text:?} is empty"));
        }
        return Ok(Expected::Range(low, high));
    }
    let value = number(text)?;
    let decimals = text
        .split_once('.')
        .map_or(0, |(_, after)| after.trim().len() as u32);
    Ok(Expected::Number { value, decimals })
}

/// A step's set-up, resolved against its model.
pub struct StepScreen<'a> {
    /// The lesson's model.
    pub model: &'a LoadedModel,
    /// The prompt's tokens.
    pub tokens: &'a [TokenId],
    /// The selected token's position.
    pub position: usize,
    /// The target token, if the step names one.
    pub target: Option<TokenId>,
    /// The interventions in force.
    pub interventions: &'a Interventions,
}

/// Runs the step's set-up and returns one sentence per expectation the screen contradicts.
pub fn contradictions(screen: &StepScreen<'_>, expectations: &[Expectation]) -> Vec<String> {
    let params = &screen.model.params;
    let trace = match forward_with(params, screen.tokens, screen.interventions) {
        Ok(trace) => trace,
        Err(error) => return vec![format!("the step's set-up does not run: {error}")],
    };
    let row = screen.position.min(trace.n_pos.saturating_sub(1));
    let logits = trace.logits.row(row);
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    let mut problems = Vec::new();
    for expectation in expectations {
        let shown: Result<f64, String> = match &expectation.quantity {
            Quantity::Norm(label) => stages(&params.config)
                .into_iter()
                .find(|s| s.short_label() == *label)
                .and_then(|stage| stage.vector(&trace, row))
                .map(|v| f64::from(v.iter().map(|x| x * x).sum::<f32>().sqrt()))
                .ok_or_else(|| format!("this model has no stage {label:?}")),
            Quantity::Logit | Quantity::Prob => match screen.target {
                None => Err("the step has no target".into()),
                Some(id) => {
                    let logit = logits[id as usize];
                    Ok(if expectation.quantity == Quantity::Logit {
                        f64::from(logit)
                    } else {
                        f64::from(logit - max).exp() / sum
                    })
                }
            },
            Quantity::Top => {
                let top = (0..logits.len())
                    .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                    .unwrap_or(0);
                let text = screen.model.tokenizer.decode(&[top as TokenId]);
                if let Expected::Token(want) = &expectation.expected
                    && text.trim() != want.trim()
                {
                    problems.push(format!(
                        "the step expects the top prediction {want:?}, the screen shows {:?}",
                        text.trim()
                    ));
                }
                continue;
            }
        };
        match shown {
            Err(message) => problems.push(format!("expect {}: {message}", expectation.quantity)),
            Ok(value) if !expectation.expected.accepts(value) => problems.push(format!(
                "the step says {} is {}, the screen shows {value:.4}",
                expectation.quantity, expectation.expected
            )),
            Ok(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_to_the_decimals_written() {
        let list = parse_expectations("norm L0 +attn = 3.742; logit = 11.5..11.7; top = mat")
            .expect("valid");
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].quantity, Quantity::Norm("L0 +attn".into()));
        assert!(list[0].expected.accepts(3.7416) && list[0].expected.accepts(3.7424));
        assert!(!list[0].expected.accepts(3.7436));
        assert!(list[1].expected.accepts(11.6) && !list[1].expected.accepts(11.71));
        assert_eq!(list[2].expected, Expected::Token("mat".into()));
    }

    #[test]
    fn bad_lines_say_why() {
        for bad in [
            "norm L0 +attn 3.7",
            "size = 3",
            "logit = 3,7",
            "prob = 2..1",
            "",
        ] {
            assert!(parse_expectations(bad).is_err(), "{bad}");
        }
    }
}
