//! The scope files built into the binary (`standards/*.yaml`, embedded at compile time) and the
//! short names they are known by.

use super::load::load_str;
use super::model::{Origin, Scope};

const IAAS: &str = include_str!("../../standards/scs-compatible-iaas.yaml");
const KAAS: &str = include_str!("../../standards/scs-compatible-kaas.yaml");

/// The short names of the built-in scopes.
pub fn builtin_names() -> &'static [&'static str] {
    &["iaas", "kaas"]
}

/// The embedded text of a built-in scope, by short name.
pub fn builtin_text(name: &str) -> Option<&'static str> {
    match name {
        "iaas" => Some(IAAS),
        "kaas" => Some(KAAS),
        _ => None,
    }
}

/// Maps `iaas`, `scs-compatible-iaas` and `scs-compatible-iaas.yaml` (likewise for kaas) to the
/// short name.
pub fn builtin_short_name(arg: &str) -> Option<&'static str> {
    let name = arg.strip_suffix(".yaml").unwrap_or(arg);
    let name = name.strip_prefix("scs-compatible-").unwrap_or(name);
    builtin_names().iter().copied().find(|n| *n == name)
}

/// Loads a built-in scope by any of its names; `None` for an unknown name.
pub fn load_builtin(name: &str) -> Option<Scope> {
    let short = builtin_short_name(name)?;
    load_str(
        builtin_text(short)?,
        Origin::Builtin(short.to_string()),
        None,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load::validate_text;

    #[test]
    fn names() {
        assert_eq!(builtin_short_name("iaas"), Some("iaas"));
        assert_eq!(builtin_short_name("scs-compatible-kaas"), Some("kaas"));
        assert_eq!(builtin_short_name("scs-compatible-iaas.yaml"), Some("iaas"));
        assert_eq!(builtin_short_name("paas"), None);
        assert_eq!(builtin_short_name("scs-compatible-"), None);
    }

    #[test]
    fn builtins_are_clean() {
        for name in builtin_names() {
            let checked = validate_text(
                builtin_text(name).unwrap(),
                Origin::Builtin(name.to_string()),
                None,
            );
            assert!(
                checked.problems.is_empty(),
                "{name}: {:?}",
                checked.problems
            );
            assert!(load_builtin(name).is_some());
        }
    }
}
