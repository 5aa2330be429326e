//! The checkpoint timeline: parameter snapshots of a training run kept at intervals, in step
//! order, with bounded memory, each with a payload the caller computes from it (the GUI
//! keeps the head scores there).
//!
//! Policy: the first snapshot (the initial weights) and the newest are always kept. A new
//! snapshot closer than `gap` steps to the previous kept one replaces the newest instead of
//! adding to the list. When the list grows past its cap, every second entry is dropped (the
//! first and the newest stay) and `gap` doubles, so the kept steps stay evenly spread over
//! the whole run and memory stays under `cap` snapshots however long it trains.
//!
//! Snapshots are `Arc`s shared with whoever else holds them (the worker's events, the
//! explorer's current model), so keeping one costs nothing until the others let it go.

use std::sync::Arc;

use crate::model::Params;

/// One kept snapshot.
#[derive(Clone, Debug)]
pub struct TimelineEntry<T> {
    /// Updates done when the snapshot was taken (0 = the initial weights).
    pub step: usize,
    /// The weights at that step.
    pub params: Arc<Params<f32>>,
    /// What the caller derived from them.
    pub data: T,
}

/// Snapshots of one run, in increasing step order, at most `cap` of them.
#[derive(Clone, Debug)]
pub struct Timeline<T> {
    entries: Vec<TimelineEntry<T>>,
    cap: usize,
    gap: usize,
}

/// Fewest snapshots a timeline keeps, whatever the memory budget.
pub const MIN_CAP: usize = 4;
/// Most snapshots a timeline keeps, however small the model.
pub const MAX_CAP: usize = 512;

impl<T> Timeline<T> {
    /// An empty timeline that keeps at most `cap` snapshots (at least [`MIN_CAP`]).
    pub fn new(cap: usize) -> Self {
        Self {
            entries: Vec::new(),
            cap: cap.max(MIN_CAP),
            gap: 1,
        }
    }

    /// An empty timeline whose snapshots of a model shaped like `params` fit in
    /// `budget_bytes` (clamped to [`MIN_CAP`]..=[`MAX_CAP`] snapshots).
    pub fn with_memory_budget(budget_bytes: usize, params: &Params<f32>) -> Self {
        let bytes = (params.stored_len() * std::mem::size_of::<f32>()).max(1);
        Self::new((budget_bytes / bytes).clamp(MIN_CAP, MAX_CAP))
    }

    /// Offers the snapshot taken after `step` updates; returns whether it was kept. Steps
    /// not after the newest kept one are refused (a new run needs a new timeline).
    pub fn push(&mut self, step: usize, params: Arc<Params<f32>>, data: T) -> bool {
        if self.entries.last().is_some_and(|last| step <= last.step) {
            return false;
        }
        let entry = TimelineEntry { step, params, data };
        let len = self.entries.len();
        // The newest entry is provisional while it is closer than `gap` to the one before.
        let newest_is_provisional =
            len >= 2 && self.entries[len - 1].step - self.entries[len - 2].step < self.gap;
        if newest_is_provisional {
            self.entries[len - 1] = entry;
        } else {
            self.entries.push(entry);
        }
        if self.entries.len() > self.cap {
            self.thin();
        }
        true
    }

    /// Drops every second entry, keeping the first and the newest, and doubles the gap.
    fn thin(&mut self) {
        let last = self.entries.len() - 1;
        let mut index = 0;
        self.entries.retain(|_| {
            let keep = index % 2 == 0 || index == last;
            index += 1;
            keep
        });
        self.gap *= 2;
    }

    /// The kept snapshots, oldest first.
    pub fn entries(&self) -> &[TimelineEntry<T>] {
        &self.entries
    }

    /// Number of kept snapshots.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True before the first snapshot.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most snapshots kept at once.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The spacing, in steps, that new snapshots are kept at now.
    pub fn gap(&self) -> usize {
        self.gap
    }

    /// The newest snapshot.
    pub fn latest(&self) -> Option<&TimelineEntry<T>> {
        self.entries.last()
    }

    /// The kept steps, oldest first.
    pub fn steps(&self) -> Vec<usize> {
        self.entries.iter().map(|e| e.step).collect()
    }

    /// Index of the newest snapshot taken at or before `step` (`None` if all are later).
    pub fn index_at_or_before(&self, step: usize) -> Option<usize> {
        self.entries
            .partition_point(|e| e.step <= step)
            .checked_sub(1)
    }

    /// The newest snapshot taken at or before `step`.
    pub fn at_or_before(&self, step: usize) -> Option<&TimelineEntry<T>> {
        self.index_at_or_before(step).map(|i| &self.entries[i])
    }

    /// The snapshot taken exactly at `step`, to fill in its payload.
    pub fn entry_mut(&mut self, step: usize) -> Option<&mut TimelineEntry<T>> {
        let index = self.entries.binary_search_by_key(&step, |e| e.step).ok()?;
        Some(&mut self.entries[index])
    }

    /// Index of the snapshot whose step is closest to `step` (the earlier one on a tie).
    pub fn nearest(&self, step: usize) -> Option<usize> {
        let after = self.entries.partition_point(|e| e.step < step);
        let candidates = [after.checked_sub(1), (after < self.len()).then_some(after)];
        candidates
            .into_iter()
            .flatten()
            .min_by_key(|&i| self.entries[i].step.abs_diff(step))
    }

    /// Bytes of parameters the kept snapshots hold (shared ones counted too).
    pub fn memory_bytes(&self) -> usize {
        self.entries
            .iter()
            .map(|e| e.params.stored_len() * std::mem::size_of::<f32>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InitOptions, ModelConfig};

    fn tiny() -> Arc<Params<f32>> {
        let config = ModelConfig {
            d_model: 4,
            n_heads: 1,
            d_head: 4,
            n_layers: 1,
            d_mlp: 4,
            n_ctx: 4,
            ..ModelConfig::lesson(5)
        };
        Arc::new(Params::init(&config, InitOptions::default()).unwrap())
    }

    #[test]
    fn memory_stays_bounded_and_steps_stay_ordered_and_spread() {
        let params = tiny();
        let mut timeline = Timeline::new(16);
        for step in 0..=10_000 {
            assert!(timeline.push(step, Arc::clone(&params), step * 10));
            assert!(timeline.len() <= 16, "{} at step {step}", timeline.len());
            let steps = timeline.steps();
            assert!(steps.windows(2).all(|w| w[0] < w[1]), "ordered");
            assert_eq!(steps[0], 0, "the initial weights stay");
            assert_eq!(*steps.last().unwrap(), step, "the newest is kept");
        }
        let steps = timeline.steps();
        assert!(timeline.len() >= 8, "{steps:?}");
        // Evenly spread: every gap but the newest's within a factor 2 of each other.
        let gaps: Vec<usize> = steps.windows(2).map(|w| w[1] - w[0]).collect();
        let inner = &gaps[..gaps.len() - 1];
        let (min, max) = (inner.iter().min().unwrap(), inner.iter().max().unwrap());
        assert!(max <= &(2 * min), "{gaps:?}");
        // Payloads travel with their snapshots.
        assert!(timeline.entries().iter().all(|e| e.data == e.step * 10));
    }

    #[test]
    fn lookup_by_step() {
        let params = tiny();
        let mut timeline = Timeline::new(8);
        for step in [0, 5, 10, 20] {
            timeline.push(step, Arc::clone(&params), ());
        }
        // Out of order or repeated steps are refused.
        assert!(!timeline.push(20, Arc::clone(&params), ()));
        assert!(!timeline.push(3, Arc::clone(&params), ()));
        assert_eq!(timeline.steps(), [0, 5, 10, 20]);
        assert!(timeline.entry_mut(7).is_none());
        assert_eq!(timeline.entry_mut(10).unwrap().step, 10);
        assert_eq!(timeline.at_or_before(7).unwrap().step, 5);
        assert_eq!(timeline.at_or_before(10).unwrap().step, 10);
        assert_eq!(timeline.at_or_before(1000).unwrap().step, 20);
        assert_eq!(timeline.nearest(8), Some(2));
        assert_eq!(timeline.nearest(7), Some(1));
        assert_eq!(timeline.nearest(16), Some(3));
        assert_eq!(timeline.nearest(1000), Some(3));
        let mut later = Timeline::new(8);
        later.push(4, Arc::clone(&params), ());
        assert!(later.at_or_before(3).is_none());
        assert_eq!(later.nearest(0), Some(0));
        assert!(Timeline::<()>::new(8).nearest(3).is_none());
    }

    #[test]
    fn the_cap_follows_the_memory_budget() {
        let params = tiny();
        let bytes = params.stored_len() * 4;
        assert_eq!(
            Timeline::<()>::with_memory_budget(bytes * 10, &params).cap(),
            10
        );
        assert_eq!(
            Timeline::<()>::with_memory_budget(0, &params).cap(),
            MIN_CAP
        );
        assert_eq!(
            Timeline::<()>::with_memory_budget(usize::MAX, &params).cap(),
            MAX_CAP
        );
        let mut timeline = Timeline::with_memory_budget(bytes * 10, &params);
        for step in 0..100 {
            timeline.push(step, Arc::clone(&params), ());
        }
        assert!(timeline.memory_bytes() <= bytes * 10);
    }
}
