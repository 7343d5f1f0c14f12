//! Scope files: the model of a certificate scope, the loaders for the three historical formats,
//! validation with located errors, and the scope files built into the binary.
//!
//! This module knows nothing about clouds, probes or dates other than those written in the file.

pub mod model;
pub mod yaml;

pub use model::*;
