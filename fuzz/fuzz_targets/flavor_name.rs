//! Fuzz target for the flavor-name parsers: no input may panic, and every accepted name must
//! print to a text that parses back to the same value (and prints the same again).

#![no_main]

use libfuzzer_sys::fuzz_target;
use scs_check::flavor_name::{check_name, expected_specs, explain, parse, parse_v1};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(name) => {
            let printed = name.to_string();
            let again = parse(&printed).expect("canonical form must parse");
            assert_eq!(again, name, "{text:?} printed as {printed:?}");
            assert_eq!(again.to_string(), printed);
            let short = name.short();
            assert_eq!(parse(&short.to_string()).as_ref(), Ok(&short));
            let _ = explain(&name);
            let _ = expected_specs(&name);
        }
        Err(err) => {
            assert!(err.position >= 1 && err.position <= text.chars().count() + 1);
            let _ = err.to_string();
        }
    }
    if let Ok(name) = parse_v1(text) {
        let printed = name.to_v1();
        assert_eq!(
            parse_v1(&printed).as_ref(),
            Ok(&name),
            "{text:?} printed as {printed:?}"
        );
    }
    let _ = check_name(text);
});
