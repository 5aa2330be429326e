//! Residual Explorer: a hand-written transformer and the views that look inside it.
//!
//! Layers, from the bottom: [`model`] (the maths, no GUI) → analysis → app state →
//! widgets and views → the eframe app. See ARCHITECTURE.md.

pub mod app;
pub mod cli;
pub mod i18n;
pub mod interp;
pub mod lesson;
pub mod model;
pub mod sae;
pub mod state;
pub mod train;
pub mod view_kind;
pub mod views;
pub mod widgets;
