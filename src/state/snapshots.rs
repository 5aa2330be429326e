//! The snapshot worker: turns a training snapshot (`Arc<Params>`) into what the explorer
//! shows, off the UI thread — a [`LoadedModel`] to install (the copy of the weights is made
//! here), the head scores for the timeline, and for the side-by-side comparison a whole
//! [`Analysis`] of the prompt.
//!
//! Only the newest request of each [`SnapshotPurpose`] matters: requests that queued up
//! behind a newer one of the same purpose are skipped, so a slow model never builds a
//! backlog. `pending` counts requests not yet taken, for tests that wait until idle.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use super::analysis::Analysis;
use super::jobs::Waker;
use crate::interp::AnalysisOptions;
use crate::interp::head_scores::{HeadScores, ScoreProbe};
use crate::interp::interventions::Interventions;
use crate::model::hooks::NoIntervention;
use crate::model::io::LoadedModel;
use crate::model::tokenizer::Tokenizer;
use crate::model::{Params, TokenId};

/// What a snapshot is wanted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SnapshotPurpose {
    /// The newest weights of the run, shown while following it live.
    Live,
    /// A past step picked on the timeline.
    Scrub,
    /// The second step of the side-by-side comparison.
    Compare,
}

/// A snapshot to prepare.
pub struct SnapshotRequest {
    /// Training step of the weights.
    pub step: usize,
    /// The weights.
    pub params: Arc<Params<f32>>,
    /// The run's tokenizer.
    pub tokenizer: Tokenizer,
    /// Display name of the model.
    pub name: String,
    /// Why.
    pub purpose: SnapshotPurpose,
    /// Score the heads on this probe (for the timeline).
    pub probe: Option<ScoreProbe>,
    /// Analyse this prompt with these options and interventions (for the comparison).
    pub analyse: Option<(Vec<TokenId>, AnalysisOptions, Interventions)>,
}

/// A prepared snapshot.
pub struct SnapshotReady {
    /// Training step of the weights.
    pub step: usize,
    /// Why it was asked for.
    pub purpose: SnapshotPurpose,
    /// The model to install.
    pub model: Arc<LoadedModel>,
    /// Head scores, when a probe was given.
    pub scores: Option<HeadScores>,
    /// The analysis, when asked for (`Err` with the reason if the prompt cannot run).
    pub analysis: Option<Result<Arc<Analysis>, String>>,
    /// Time the worker spent on it.
    pub took: Duration,
}

/// The thread and its channels.
pub struct SnapshotWorker {
    requests: Sender<SnapshotRequest>,
    results: Receiver<SnapshotReady>,
    pending: Arc<AtomicUsize>,
}

impl std::fmt::Debug for SnapshotWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotWorker")
            .field("pending", &self.pending.load(Ordering::SeqCst))
            .finish()
    }
}

impl SnapshotWorker {
    /// Starts the thread; `wake` is called after every result.
    pub fn new(wake: Waker) -> Self {
        let (requests, inbox) = channel::<SnapshotRequest>();
        let (outbox, results) = channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&pending);
        std::thread::Builder::new()
            .name("snapshot worker".into())
            .spawn(move || {
                // Ends when the worker handle (the only request sender) is dropped.
                while let Ok(first) = inbox.recv() {
                    let mut batch = vec![first];
                    batch.extend(inbox.try_iter());
                    let taken = batch.len();
                    for request in newest_per_purpose(batch) {
                        let ready = prepare(request);
                        if outbox.send(ready).is_err() {
                            return;
                        }
                        wake.now();
                    }
                    counter.fetch_sub(taken, Ordering::SeqCst);
                }
            })
            .expect("a thread can be spawned");
        Self {
            requests,
            results,
            pending,
        }
    }

    /// Queues a request.
    pub fn request(&self, request: SnapshotRequest) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.requests.send(request).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Every result waiting, without blocking.
    pub fn poll(&self) -> Vec<SnapshotReady> {
        self.results.try_iter().collect()
    }

    /// Whether requests are queued or being prepared (results may still wait in the
    /// channel: [`Self::poll`] them).
    pub fn busy(&self) -> bool {
        self.pending.load(Ordering::SeqCst) > 0
    }
}

/// The newest request of each purpose, in the order they arrived.
fn newest_per_purpose(batch: Vec<SnapshotRequest>) -> Vec<SnapshotRequest> {
    let mut kept: Vec<SnapshotRequest> = Vec::new();
    for request in batch {
        kept.retain(|k| k.purpose != request.purpose);
        kept.push(request);
    }
    kept
}

fn prepare(request: SnapshotRequest) -> SnapshotReady {
    let started = Instant::now();
    let model = Arc::new(LoadedModel {
        params: (*request.params).clone(),
        tokenizer: request.tokenizer,
        name: request.name,
        source: None,
    });
    let scores = request
        .probe
        .and_then(|probe| HeadScores::compute(&model.params, &probe, &NoIntervention).ok());
    let analysis = request.analyse.map(|(tokens, options, interventions)| {
        Analysis::compute_with(Arc::clone(&model), &tokens, options, interventions)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    });
    SnapshotReady {
        step: request.step,
        purpose: request.purpose,
        model,
        scores,
        analysis,
        took: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InitOptions, ModelConfig};

    fn request(step: usize, purpose: SnapshotPurpose) -> SnapshotRequest {
        let config = ModelConfig {
            n_layers: 1,
            d_model: 8,
            n_heads: 2,
            d_head: 4,
            d_mlp: 8,
            n_ctx: 16,
            ..ModelConfig::lesson(10)
        };
        SnapshotRequest {
            step,
            params: Arc::new(Params::init(&config, InitOptions::default()).unwrap()),
            tokenizer: Tokenizer::Ids { d_vocab: 10 },
            name: "tiny".into(),
            purpose,
            probe: Some(ScoreProbe::repeated_random(10, 16, 0, None, 4, 2, 0).unwrap()),
            analyse: Some((
                vec![1, 2, 3],
                AnalysisOptions::default(),
                Interventions::new(),
            )),
        }
    }

    #[test]
    fn only_the_newest_of_each_purpose_is_kept() {
        let batch = vec![
            request(1, SnapshotPurpose::Live),
            request(5, SnapshotPurpose::Scrub),
            request(2, SnapshotPurpose::Live),
            request(3, SnapshotPurpose::Live),
        ];
        let kept: Vec<(usize, SnapshotPurpose)> = newest_per_purpose(batch)
            .iter()
            .map(|r| (r.step, r.purpose))
            .collect();
        assert_eq!(
            kept,
            [(5, SnapshotPurpose::Scrub), (3, SnapshotPurpose::Live)]
        );
    }

    #[test]
    fn a_request_comes_back_with_model_scores_and_analysis() {
        let worker = SnapshotWorker::new(Waker::none());
        worker.request(request(7, SnapshotPurpose::Compare));
        let deadline = Instant::now() + Duration::from_secs(20);
        let ready = loop {
            if let Some(ready) = worker.poll().pop() {
                break ready;
            }
            assert!(Instant::now() < deadline, "no result");
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!((ready.step, ready.purpose), (7, SnapshotPurpose::Compare));
        assert_eq!(ready.model.params.config.n_layers, 1);
        assert_eq!(ready.scores.unwrap().induction.dim(), (1, 2));
        let analysis = ready.analysis.unwrap().unwrap();
        assert_eq!(analysis.tokens, [1, 2, 3]);
        while worker.busy() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
