//! scs-0102 dates, parsed like Python's `time.strptime` in the reference suite.

use chrono::{DateTime, NaiveDate, Utc};
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The formats the reference tries, in order, for property dates.
pub const DATE_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
];
/// The formats for a date as the last word of an image name.
pub const NAME_DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y%m%d"];

fn strptime_regex(format: &str) -> Regex {
    let mut pattern = String::from("(?i)^");
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            let field = match chars.next() {
                Some('Y') => r"(?P<Y>[0-9]{4})",
                Some('m') => r"(?P<m>1[0-2]|0[1-9]|[1-9])",
                Some('d') => r"(?P<d>3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])",
                Some('H') => r"(?P<H>2[0-3]|[01][0-9]|[0-9])",
                Some('M') => r"(?P<M>[0-5][0-9]|[0-9])",
                Some('S') => r"(?P<S>6[01]|[0-5][0-9]|[0-9])",
                // only our own formats reach here; an unknown directive matches nothing
                _ => "(?:$^)",
            };
            pattern.push_str(field);
        } else if c.is_whitespace() {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            pattern.push_str(r"\s+");
        } else {
            pattern.push_str(&regex::escape(&c.to_string()));
        }
    }
    Regex::new(&pattern).unwrap_or_else(|_| Regex::new("$^").expect("trivial regex"))
}

static DATE_REGEXES: LazyLock<HashMap<&'static str, Regex>> = LazyLock::new(|| {
    DATE_FORMATS
        .iter()
        .chain(NAME_DATE_FORMATS)
        .map(|f| (*f, strptime_regex(f)))
        .collect()
});

/// Parses `text` with one strptime-style `format` (`%Y %m %d %H %M %S`, literal characters,
/// whitespace matching any run of whitespace, case-insensitive), like Python's `strptime`:
/// the match starts at the beginning and must consume the whole text; one-digit months, days,
/// hours, minutes and seconds are accepted; impossible dates and seconds above 59 are rejected.
/// The result is read as UTC.
pub fn strptime(text: &str, format: &str) -> Option<DateTime<Utc>> {
    let owned;
    let re = match DATE_REGEXES.get(format) {
        Some(re) => re,
        None => {
            owned = strptime_regex(format);
            &owned
        }
    };
    let caps = re.captures(text)?;
    if caps.get(0)?.end() != text.len() {
        return None;
    }
    let num = |name: &str| -> Option<u32> {
        match caps.name(name) {
            Some(m) => m.as_str().trim().parse().ok(),
            None => Some(0),
        }
    };
    let year = i32::try_from(num("Y")?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num("m")?.max(1), num("d")?.max(1))?;
    let time = date.and_hms_opt(num("H")?, num("M")?, num("S")?)?;
    Some(time.and_utc())
}

/// A property date (`image_build_date`, `provided_until`, `uuid_validity`): the first of
/// [`DATE_FORMATS`] that parses, as UTC.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    DATE_FORMATS.iter().find_map(|f| strptime(text, f))
}

/// Glance's `created_at`: only `YYYY-MM-DDThh:mm:ssZ`.
pub fn parse_created_at(text: &str) -> Option<DateTime<Utc>> {
    strptime(text, DATE_FORMATS[0])
}
