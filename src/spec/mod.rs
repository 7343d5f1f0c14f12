//! Scope files: the model of a certificate scope, the loaders for the three historical formats,
//! validation with located errors, and the scope files built into the binary.
//!
//! This module knows nothing about clouds, probes or dates other than those written in the file.
//! Entry points: [`load_argument`], [`load_file`], [`load_url`], [`load_str`], [`load_builtin`],
//! and [`validate_text`] / [`validate_file`] for `scs-check validate`. The file format, our
//! extension and the validation rules are described in `docs/scope-format.md`.

pub mod builtin;
mod format_a;
pub mod format_b;
mod format_c;
pub mod load;
pub mod model;
mod validate;
pub mod yaml;

pub use builtin::{builtin_names, load_builtin};
pub use format_a::TIMELINE_START;
pub use format_b::Selector;
pub use load::{
    Checked, LoadError, Problem, Severity, load_argument, load_file, load_str, load_url,
    validate_file, validate_text,
};
pub use model::*;
