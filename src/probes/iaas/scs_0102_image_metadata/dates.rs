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
    match fixed_width(text, format) {
        Some(fixed) => fixed,
        None if !starts_like(text, format) || !separators_in_order(text, format) => None,
        None => strptime_by_regex(text, format),
    }
}

/// Whether a format that begins with `%Y` meets four digits: the regex cannot match otherwise, so
/// the last word of most image names (`Ubuntu 24.04`) is refused by `%Y%m%d` without running it.
fn starts_like(text: &str, format: &str) -> bool {
    !format.starts_with("%Y")
        || text
            .as_bytes()
            .get(..4)
            .is_some_and(|year| year.iter().all(u8::is_ascii_digit))
}

/// Whether `text` holds the separators of `format` (its ASCII punctuation, and whitespace for
/// whitespace) in their order: the regex cannot match otherwise, so `2024-05-01` is refused by
/// `%Y-%m-%dT%H:%M:%SZ` without running it. Letters are not looked at (case folding is the
/// regex's business).
fn separators_in_order(text: &str, format: &str) -> bool {
    let mut rest = text.chars();
    let mut wanted = format.chars().peekable();
    while let Some(c) = wanted.next() {
        if c == '%' {
            wanted.next();
        } else if c.is_whitespace() {
            while wanted.peek().is_some_and(|c| c.is_whitespace()) {
                wanted.next();
            }
            if !rest.any(char::is_whitespace) {
                return false;
            }
        } else if c.is_ascii_punctuation() && !rest.any(|t| t == c) {
            return false;
        }
    }
    true
}

/// [`strptime`] by the regex alone (what the fast path must agree with).
pub(super) fn strptime_by_regex(text: &str, format: &str) -> Option<DateTime<Utc>> {
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

/// [`strptime`] without the regex for the common case: every directive of `format` is met by
/// exactly two digits (four for `%Y`) and every literal by itself (letters in either case, one
/// space for whitespace), as in `2024-05-01T10:00:00Z`. Such a text gives what the regex gives:
/// each field's two-digit alternatives come before its one-digit ones, so the regex takes both
/// digits, and a two-digit value outside a field's alternatives (month 13, hour 24, minute 60)
/// leaves a one-digit match that the next literal or the end of the text then refuses, as the
/// range checks here do. Seconds 60 and 61 match the regex and are refused by the calendar in
/// both. `None` when the text does not have this shape (the regex decides then): thousands of
/// images with four formats each made the regex most of a large cloud's scs-0102 time.
pub(super) fn fixed_width(text: &str, format: &str) -> Option<Option<DateTime<Utc>>> {
    let text = text.as_bytes();
    let mut at = 0;
    // Fields the format lacks count as in the regex path: month and day 1, the rest 0.
    let (mut year, mut hour, mut minute, mut second) = (0, 0, 0, 0);
    let (mut month, mut day) = (None, None);
    let mut fields = format.bytes();
    while let Some(c) = fields.next() {
        if c == b'%' {
            let directive = fields.next()?;
            let width = if directive == b'Y' { 4 } else { 2 };
            let digits = text.get(at..at + width)?;
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value = digits
                .iter()
                .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
            at += width;
            match directive {
                b'Y' => year = value,
                b'm' => month = Some(value),
                b'd' => day = Some(value),
                b'H' => hour = value,
                b'M' => minute = value,
                b'S' => second = value,
                _ => return None,
            }
        } else if c.is_ascii_whitespace() {
            if text.get(at) != Some(&b' ') {
                return None;
            }
            at += 1;
        } else if c.is_ascii_alphanumeric() || b"-:/.TZ".contains(&c) {
            if !text.get(at)?.eq_ignore_ascii_case(&c) {
                return None;
            }
            at += 1;
        } else {
            return None;
        }
    }
    if at != text.len() {
        return None;
    }
    let (month, day) = (month.unwrap_or(1), day.unwrap_or(1));
    let in_range = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 61;
    if !in_range {
        return Some(None);
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day);
    Some(
        date.and_then(|d| d.and_hms_opt(hour, minute, second))
            .map(|t| t.and_utc()),
    )
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
