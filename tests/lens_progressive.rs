//! The explorer's logit lens is filled progressively on the trace worker: the selected
//! token's row comes with the trace, the rest follows chunk by chunk, a newer prompt stops a
//! grid half-way, and the finished grid equals the lens computed at once (as the CLI does).

use std::sync::Arc;
use std::time::Duration;

use residual_explorer::interp::{AnalysisOptions, TraceAnalysis};
use residual_explorer::model::io::LoadedModel;
use residual_explorer::model::tokenizer::Tokenizer;
use residual_explorer::model::{InitOptions, ModelConfig, Params};
use residual_explorer::state::jobs::JobEvent;
use residual_explorer::state::lens_fill::LENS_CHUNK_BYTES;
use residual_explorer::state::{AppState, Command, Settings, Waker};

/// A small model with a vocabulary so large that one lens row fills a chunk: a 120-token
/// prompt takes 120 chunks.
fn wide_vocabulary_model() -> LoadedModel {
    let d_vocab = 800_000;
    let config = ModelConfig {
        d_model: 8,
        n_heads: 2,
        d_head: 4,
        d_mlp: 16,
        ..ModelConfig::lesson(d_vocab)
    };
    let stages = residual_explorer::interp::stream_stages(&config).len();
    assert!(
        stages * d_vocab * 4 > LENS_CHUNK_BYTES / 3,
        "two rows per chunk at most"
    );
    LoadedModel {
        params: Params::init(&config, InitOptions { seed: 5, std: 0.4 }).unwrap(),
        tokenizer: Tokenizer::Ids { d_vocab },
        name: "wide".into(),
        source: None,
    }
}

fn prompt(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
}

#[test]
fn a_newer_prompt_replaces_a_grid_in_progress_and_the_finished_grid_equals_the_eager_lens() {
    let wake = Waker::none();
    let first: Vec<u32> = (0..120).map(|i| i * 6_791 % 800_000).collect();
    let settings = Settings {
        prompt: prompt(&first),
        ..Settings::default()
    };
    let mut state = AppState::new(wide_vocabulary_model(), settings, wake);
    // Wait for the first analysis and the first chunk of its lens only: the selected row is
    // in that chunk, and the grid is still filling.
    while state.pending_trace.is_some() {
        let event = state
            .jobs
            .next_within(Duration::from_secs(60))
            .expect("a trace");
        state.on_event(event);
    }
    let first_analysis = Arc::clone(state.analysis.as_ref().unwrap());
    let selected = state.selection.token.min(first.len() - 1);
    loop {
        let event = state
            .jobs
            .next_within(Duration::from_secs(60))
            .expect("a lens chunk");
        let chunk = matches!(event, JobEvent::LensProgress { .. });
        state.on_event(event);
        if chunk {
            break;
        }
    }
    assert!(
        first_analysis.lens().is_computed(selected),
        "the selected row comes first"
    );
    // A newer prompt while the first grid fills: the worker leaves it.
    let second = [8, 6, 4, 2, 0, 1, 3];
    state.apply(Command::SetPrompt(prompt(&second)));
    assert!(
        state.wait_until_idle(Duration::from_secs(120)),
        "the grid finishes"
    );
    let analysis = Arc::clone(state.analysis.as_ref().unwrap());
    assert_eq!(analysis.tokens, second);
    let lens = analysis.lens();
    assert!(lens.is_complete());
    assert!(
        !first_analysis.lens().is_complete(),
        "the first grid was stopped (120 chunks of 800,000 logits per stage take far longer \
         than the next request takes to arrive)"
    );

    // Cell for cell, the grid equals the lens computed at once.
    let params = &analysis.model.params;
    let options: AnalysisOptions = state.analysis_options();
    let eager = TraceAnalysis::compute(params, &analysis.trace, options).lens;
    assert_eq!(eager.stages, lens.stages);
    for stage in 0..lens.stages.len() {
        for pos in 0..second.len() {
            let cell = lens.cell(stage, pos).unwrap();
            let want: Vec<_> = eager.top(stage, pos).collect();
            let got: Vec<_> = cell.top().collect();
            assert_eq!(got.len(), want.len());
            for ((id, p), (want_id, want_p)) in got.iter().zip(&want) {
                assert_eq!(id, want_id, "stage {stage} pos {pos}");
                assert!((p - want_p).abs() < 1e-6, "stage {stage} pos {pos}");
            }
            if let Some(&next) = second.get(pos + 1) {
                // The rank among the logits (ties in probability after rounding do not count).
                let logits = eager.logits.slice(ndarray::s![stage, pos, ..]);
                let target = logits[next as usize];
                let rank = 1 + logits.iter().filter(|&&x| x > target).count() as u32;
                assert_eq!(cell.next_rank, Some(rank), "stage {stage} pos {pos}");
                let prob = eager.probs(stage, pos)[next as usize];
                assert!((cell.next_prob - prob).abs() < 1e-6);
            } else {
                assert_eq!(cell.next_rank, None);
            }
        }
    }
}
