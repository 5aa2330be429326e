//! The Circuits view's data: the [`WeightCircuits`] of the model on screen, computed part by
//! part on a thread of its own when the view first asks for them (nothing is computed for a
//! student who never opens the view), and recomputed for each new model or training
//! snapshot; an older computation stops at its next part.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use super::jobs::{JobEvent, JobSender, reporting_panics};
use crate::interp::circuits::WeightCircuits;
use crate::model::io::LoadedModel;

/// The circuits computed so far, and the computation under way.
#[derive(Debug, Default)]
pub struct CircuitsState {
    /// The newest parts received, and the model they were computed from.
    latest: Option<(Weak<LoadedModel>, Arc<WeightCircuits>)>,
    /// The model being computed, if a computation is under way.
    computing: Option<Weak<LoadedModel>>,
    /// The newest request's id; a computation for an older one stops.
    newest: Arc<AtomicU64>,
    /// The model whose computation failed, and why (it is not asked for again).
    failed: Option<(Weak<LoadedModel>, String)>,
}

/// Whether `weak` points at `model`, alive.
fn is_model(weak: &Weak<LoadedModel>, model: &Arc<LoadedModel>) -> bool {
    std::ptr::eq(weak.as_ptr(), Arc::as_ptr(model)) && weak.strong_count() > 0
}

impl CircuitsState {
    /// The newest circuits received, whichever model they belong to, and whether they are
    /// `model`'s (a training run shows the previous snapshot's while the next one's come).
    pub fn latest_for(&self, model: &Arc<LoadedModel>) -> Option<(&WeightCircuits, bool)> {
        let (computed_for, circuits) = self.latest.as_ref()?;
        Some((circuits, is_model(computed_for, model)))
    }

    /// Whether a computation is under way.
    pub fn computing(&self) -> bool {
        self.computing.is_some()
    }

    /// Whether the view should ask for `model`'s circuits: none are computed, under way or
    /// failed for it.
    pub fn wanted_for(&self, model: &Arc<LoadedModel>) -> bool {
        let done = self
            .latest
            .as_ref()
            .is_some_and(|(m, circuits)| is_model(m, model) && circuits.next_part().is_none());
        let computing = self.computing.as_ref().is_some_and(|m| is_model(m, model));
        !done && !computing && self.failure_for(model).is_none()
    }

    /// Starts computing `model`'s circuits on a thread of its own (an older computation
    /// stops at its next part). Parts come back as [`JobEvent::CircuitsPart`].
    pub fn request(&mut self, model: &Arc<LoadedModel>, sender: JobSender) {
        if !self.wanted_for(model) {
            return;
        }
        let id = self.newest.fetch_add(1, Ordering::AcqRel) + 1;
        self.computing = Some(Arc::downgrade(model));
        let newest = Arc::clone(&self.newest);
        let model = Arc::clone(model);
        let spawned = std::thread::Builder::new()
            .name("circuits".into())
            .spawn(move || {
                let still_wanted = || newest.load(Ordering::Acquire) == id;
                let params = &model.params;
                let outcome = reporting_panics(|| {
                    let mut circuits = WeightCircuits::start(params);
                    loop {
                        if !still_wanted() {
                            return Ok(());
                        }
                        let complete = circuits.next_part().is_none();
                        sender.send(JobEvent::CircuitsPart {
                            request: id,
                            model: Arc::downgrade(&model),
                            circuits: Arc::new(circuits.clone()),
                            complete,
                        });
                        if complete || !still_wanted() {
                            return Ok(());
                        }
                        circuits.compute_next(params);
                    }
                });
                if let Err(message) = outcome {
                    sender.send(JobEvent::CircuitsFailed {
                        request: id,
                        message,
                    });
                }
            });
        if spawned.is_err() {
            // No thread: nothing will report; the view keeps asking on later frames.
            self.computing = None;
        }
    }

    /// Why the computation of `model`'s circuits failed, if it did (shown by the view).
    pub fn failure_for(&self, model: &Arc<LoadedModel>) -> Option<&str> {
        let (failed_for, message) = self.failed.as_ref()?;
        is_model(failed_for, model).then_some(message.as_str())
    }

    /// Takes the failure of request `request`: the computation is over.
    pub fn on_failure(&mut self, request: u64, message: String) {
        if request == self.newest.load(Ordering::Acquire)
            && let Some(model) = self.computing.take()
        {
            self.failed = Some((model, message));
        }
    }

    /// Takes a part computed for request `request`; parts of a stopped request are dropped.
    pub fn on_part(
        &mut self,
        request: u64,
        model: Weak<LoadedModel>,
        circuits: Arc<WeightCircuits>,
        complete: bool,
    ) {
        if request != self.newest.load(Ordering::Acquire) {
            return;
        }
        if complete {
            self.computing = None;
        }
        self.latest = Some((model, circuits));
    }
}
