//! Trace and analysis invariants, on the Hugging Face fixture model and on small random
//! models of every variant: the decomposition's terms sum to the stream (and the measured
//! error is real: a patched trace shows it), pattern rows sum to 1 with a zero upper
//! triangle, the lens at the last stage is the softmax of the logits, attributions add up to
//! the logits, shares add up to 1, and everything is deterministic.

mod common;
mod trace_support;

use ndarray::{ArrayViewMutD, Axis, s};
use residual_explorer::interp::{
    AnalysisOptions, Composition, LensNorm, LensOptions, LogitLens, Stage, Term, TraceAnalysis,
    stream_stages,
};
use residual_explorer::model::hooks::{HookSite, Intervention};
use residual_explorer::model::io::hf::load_gpt2;
use residual_explorer::model::ops::softmax;
use residual_explorer::model::{NormPlacement, Params, Trace, forward, forward_batch};
use trace_support::{modern_variants, random_params, random_tokens, small_config, variants};

fn fixture() -> (Params<f32>, Trace<f32>) {
    let model = load_gpt2(&common::fixture_dir()).expect("fixture loads");
    let trace = forward(&model.params, &common::input_ids()).expect("forward runs");
    (model.params, trace)
}

fn analyse(params: &Params<f32>, trace: &Trace<f32>) -> TraceAnalysis {
    TraceAnalysis::compute(params, trace, AnalysisOptions::default())
}

#[test]
fn terms_sum_to_the_stream_at_every_stage_of_a_pre_ln_model() {
    let (params, trace) = fixture();
    let analysis = analyse(&params, &trace);
    let decomposition = &analysis.decomposition;
    assert_eq!(decomposition.limit, None);
    // embed, pos, then per layer 4 heads, b_O, mlp.
    assert_eq!(decomposition.terms.len(), 2 + 2 * (4 + 1 + 1));
    assert_eq!(decomposition.terms[2], Term::Head { layer: 0, head: 0 });
    assert_eq!(decomposition.stages.len(), 1 + 2 * 2);
    for stage in &decomposition.stages {
        let error = stage
            .max_reconstruction_error()
            .expect("pre-LN stages are sums");
        // The stream is ~1 in size; f32 rounding of the forward's additions is ~1e-7.
        assert!(error < 1e-5, "{:?}: error {error:e}", stage.stage);
        assert!(matches!(stage.composition, Composition::AllTermsSoFar(_)));
    }
    // The final stage holds every term.
    let last = decomposition.stages.last().unwrap();
    assert_eq!(last.composition.terms(), Some(0..decomposition.terms.len()));
}

/// Doubles `hook_attn_out` of layer 1 after the heads were recorded: the heads no longer
/// sum to the stream, and the decomposition must say so through its error.
struct DoubleAttnOut;

impl Intervention<f32> for DoubleAttnOut {
    fn apply(&self, site: HookSite, mut values: ArrayViewMutD<'_, f32>) {
        if site == (HookSite::AttnOut { layer: 1 }) {
            values.mapv_inplace(|x| 2.0 * x);
        }
    }
}

#[test]
fn the_reconstruction_error_is_measured_not_assumed() {
    let (params, _) = fixture();
    let ids = common::input_ids();
    let patched = forward_batch(&params, &[&ids], &DoubleAttnOut).unwrap();
    let analysis = analyse(&params, &patched);
    let decomposition = &analysis.decomposition;
    let error_at = |stage| {
        decomposition
            .at(stage)
            .unwrap()
            .max_reconstruction_error()
            .unwrap()
    };
    assert!(error_at(Stage::MlpAdded { layer: 0 }) < 1e-5);
    let broken = error_at(Stage::AttnAdded { layer: 1 });
    // Σ heads + b_O is the original attn_out, half the recorded one: the error is its size.
    let original_size = 0.5
        * patched.layers[1]
            .attn_out
            .iter()
            .fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(
        (broken - original_size).abs() < 1e-4,
        "{broken} vs {original_size}"
    );
}

#[test]
fn post_ln_and_residual_off_say_where_the_sum_stops() {
    for (name, config) in variants().into_iter().chain(modern_variants()) {
        let params = random_params(&config, 3);
        let trace = forward(&params, &random_tokens(config.d_vocab, 7, 3)).unwrap();
        let analysis = analyse(&params, &trace);
        let decomposition = &analysis.decomposition;
        // Wherever the stream is claimed to be a sum, it is one.
        assert!(decomposition.max_reconstruction_error() < 1e-5, "{name}");
        let limit = decomposition.limit.as_ref();
        let attribution = analysis.attribution(&params, &trace, 0);
        match (config.norm, config.residual) {
            (NormPlacement::Pre | NormPlacement::Parallel | NormPlacement::Sandwich, true) => {
                assert!(limit.is_none(), "{name}");
                let ok = attribution
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let worst = ok
                    .reconstruction_error
                    .iter()
                    .fold(0.0f32, |m, &e| m.max(e));
                assert!(
                    worst < 1e-3,
                    "{name}: DLA sums to the logit within {worst:e}"
                );
            }
            (NormPlacement::Post, true) => {
                let limit = limit.expect("post-LN stops");
                assert_eq!(limit.exact_until, Stage::AttnAdded { layer: 0 }, "{name}");
                assert_eq!(limit.stops_at, Stage::Ln1 { layer: 0 }, "{name}");
                assert!(
                    limit.reason.to_string().contains("post-LN"),
                    "{name}: {}",
                    limit.reason
                );
                assert!(
                    attribution
                        .as_ref()
                        .unwrap_err()
                        .to_string()
                        .contains("post-LN"),
                    "{name}"
                );
            }
            (_, false) => {
                let limit = limit.expect("residual off stops");
                assert_eq!(limit.exact_until, Stage::Embed, "{name}");
                assert_eq!(limit.stops_at, Stage::AttnAdded { layer: 0 }, "{name}");
                let at = decomposition.at(Stage::AttnAdded { layer: 1 }).unwrap();
                assert!(matches!(at.composition, Composition::LatestSublayerOnly(_)));
                assert_eq!(
                    at.composition.terms().map(|r| decomposition.terms[r.start]),
                    Some(Term::Head { layer: 1, head: 0 })
                );
                assert!(at.max_reconstruction_error().unwrap() < 1e-5, "{name}");
            }
        }
        if let Ok(attribution) = attribution {
            let error = attribution
                .reconstruction_error
                .iter()
                .fold(0.0f32, |m, &x| m.max(x));
            assert!(error < 1e-4, "{name}: attribution error {error:e}");
        }
    }
}

#[test]
fn attention_rows_sum_to_one_and_respect_the_causal_mask() {
    let (_, trace) = fixture();
    for layer in &trace.layers {
        let pattern = layer.pattern.index_axis(Axis(0), 0); // [head, q, k]
        for head in pattern.outer_iter() {
            for (query, row) in head.outer_iter().enumerate() {
                let sum: f32 = row.sum();
                assert!((sum - 1.0).abs() < 1e-6, "row {query} sums to {sum}");
                assert!(row.slice(s![query + 1..]).iter().all(|&p| p == 0.0));
                assert!(row.slice(s![..=query]).iter().all(|&p| p > 0.0));
            }
        }
    }
}

#[test]
fn the_lens_at_the_last_stage_is_the_softmax_of_the_logits() {
    let mut cases = vec![fixture()];
    for (index, (_, config)) in variants().into_iter().chain(modern_variants()).enumerate() {
        let params = random_params(&config, index as u64 + 20);
        let trace = forward(&params, &random_tokens(config.d_vocab, 8, 1)).unwrap();
        cases.push((params, trace));
    }
    for (params, trace) in &cases {
        let stages = stream_stages(&params.config);
        let (first, last) = (stages[0], *stages.last().unwrap());
        // Alone (or last in the list) the final stage reuses the trace's logits; first in the
        // list, it goes through the lens's own LayerNorm and unembedding.
        for (norm, list) in [
            (LensNorm::OwnStatistics, vec![last]),
            (LensNorm::CachedFinalScale, vec![last]),
            (LensNorm::OwnStatistics, vec![last, first]),
            (LensNorm::CachedFinalScale, vec![last, first]),
        ] {
            let options = LensOptions { norm, top_k: 3 };
            let lens = LogitLens::compute(params, trace, &list, options);
            for row in 0..trace.n_pos {
                let want = softmax(trace.logits.row(row));
                let got = lens.probs(0, row);
                let diff = (&got - &want).iter().fold(0.0f32, |m, x| m.max(x.abs()));
                assert!(diff < 1e-6, "{norm:?} row {row}: {diff:e}");
                let top: Vec<_> = lens.top(0, row).collect();
                let mut order: Vec<usize> = (0..want.len()).collect();
                order.sort_by(|&a, &b| want[b].total_cmp(&want[a]).then(a.cmp(&b)));
                assert_eq!(top[0].0 as usize, order[0]);
                assert!((top[0].1 - want[order[0]]).abs() < 1e-6);
            }
        }
    }
}

#[test]
fn cached_scale_lens_equals_the_attribution_of_the_terms_so_far() {
    // With the final scale frozen the lens is linear, so at every stage its logit for a token
    // is the sum of the attributions of the terms written so far plus the constant.
    let config = small_config();
    let params = random_params(&config, 11);
    let trace = forward(&params, &random_tokens(config.d_vocab, 10, 2)).unwrap();
    let options = AnalysisOptions {
        lens: LensOptions {
            norm: LensNorm::CachedFinalScale,
            top_k: 1,
        },
        ..AnalysisOptions::default()
    };
    let analysis = TraceAnalysis::compute(&params, &trace, options);
    let token = 5;
    let attribution = analysis.attribution(&params, &trace, token).unwrap();
    for (stage_index, stage) in analysis.decomposition.stages.iter().enumerate() {
        let terms = stage.composition.terms().unwrap();
        for row in 0..trace.n_pos {
            let sum: f32 = attribution.values.slice(s![terms.clone(), row]).sum();
            let want = sum + attribution.constant[row];
            let got = analysis.lens.logits[[stage_index, row, token as usize]];
            assert!(
                (got - want).abs() < 1e-4,
                "{:?} row {row}: {got} vs {want}",
                stage.stage
            );
        }
    }
    // A logit difference is the difference of two attributions.
    let other = analysis.attribution(&params, &trace, 9).unwrap();
    let difference = analysis
        .logit_difference(&params, &trace, token, 9)
        .unwrap();
    let diff = (&difference.values - &(&attribution.values - &other.values))
        .iter()
        .fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(diff < 1e-5, "{diff:e}");
    assert!(difference.reconstruction_error.iter().all(|&e| e < 1e-4));
    assert!(
        analysis.attribution(&params, &trace, 23).is_err(),
        "out of vocabulary"
    );
}

#[test]
fn shares_sum_to_one_and_projections_to_the_stream_length() {
    let (params, trace) = fixture();
    let analysis = analyse(&params, &trace);
    for &stage in &analysis.resid.stages {
        let contributions = analysis
            .contributions(&trace, stage)
            .expect("pre-LN stages are sums");
        for row in 0..trace.n_pos {
            let shares: f32 = contributions.shares.column(row).sum();
            assert!((shares - 1.0).abs() < 1e-4, "{stage:?} row {row}: {shares}");
            let projections: f32 = contributions.projections.column(row).sum();
            let length = contributions.stream_norms[row];
            assert!((projections - length).abs() < 1e-4 * length.max(1.0));
            let norm_shares: f32 = contributions.norm_shares.column(row).sum();
            assert!((norm_shares - 1.0).abs() < 1e-5);
        }
    }
}

#[test]
fn trace_and_analysis_are_deterministic() {
    let (params, first) = fixture();
    let (_, second) = fixture();
    assert_eq!(first, second);
    assert_eq!(analyse(&params, &first), analyse(&params, &second));
}
