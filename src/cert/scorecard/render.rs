//! The score card's renderers: a terminal table, Markdown, JSON and an SVG badge per subject and
//! scope. They draw a computed [`Scorecard`] and decide nothing.

use super::{Scorecard, SubjectStatus};

/// The score card as a terminal table: one line per subject and scope, then the versions.
pub fn render_table(card: &Scorecard) -> String {
    let mut rows: Vec<[String; 4]> = vec![[
        "SUBJECT".into(),
        "SCOPE".into(),
        "STATUS".into(),
        "VERSIONS".into(),
    ]];
    for e in &card.entries {
        let versions = e
            .versions
            .iter()
            .map(|v| format!("{} {} ({})", v.name, v.result, v.validity))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push([
            e.subject.clone(),
            e.scope_name.clone(),
            format!("{} [{}]", e.text, e.symbol.word()),
            versions,
        ]);
    }
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, w) in widths.iter().enumerate() {
            line.push_str(&r[i]);
            line.push_str(&" ".repeat(w - r[i].chars().count() + 2));
        }
        line.push_str(&r[3]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if card.entries.is_empty() {
        out.push_str("(no results for any known scope)\n");
    }
    for uuid in &card.unknown_scopes {
        out.push_str(&format!(
            "note: scope {uuid} is unknown; give it with --scope\n"
        ));
    }
    out.push_str(&format!(
        "as of {} (timeline on {}{})\n",
        crate::report::naive_timestamp::format(&card.at),
        card.date,
        if card.full { ", drafts included" } else { "" }
    ));
    out
}

/// The score card as a Markdown matrix (subjects × scopes), as the monitor's table page shows it.
pub fn render_markdown(card: &Scorecard) -> String {
    let mut scopes: Vec<(&str, &str)> = Vec::new();
    let mut subjects: Vec<&str> = Vec::new();
    for e in &card.entries {
        if !scopes.iter().any(|(u, _)| *u == e.scope) {
            scopes.push((&e.scope, &e.scope_name));
        }
        if !subjects.contains(&e.subject.as_str()) {
            subjects.push(&e.subject);
        }
    }
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = String::from("| Subject |");
    for (_, name) in &scopes {
        out.push_str(&format!(" {} |", esc(name)));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(scopes.len()));
    out.push('\n');
    for s in &subjects {
        out.push_str(&format!("| {} |", esc(s)));
        for (uuid, _) in &scopes {
            let cell = card
                .entries
                .iter()
                .find(|e| e.subject == *s && e.scope == *uuid)
                .map_or_else(|| "🛑 –".to_string(), |e| esc(&e.text));
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out
}

/// The score card as pretty JSON.
pub fn render_json(card: &Scorecard) -> String {
    let mut s = serde_json::to_string_pretty(card).expect("a score card serializes to JSON");
    s.push('\n');
    s
}

/// A file-name-safe form of a name: letters, digits, `-`, `_` and `.`; others become `-`.
pub fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-').to_string()
}

/// The badge file name of an entry: `SUBJECT--SCOPE-NAME.svg`.
pub fn badge_file_name(entry: &SubjectStatus) -> String {
    format!("{}--{}.svg", slug(&entry.subject), slug(&entry.scope_name))
}

/// An SVG badge (flat style): the scope name on the left, the status word and passed versions
/// on the right, coloured by the symbol.
pub fn render_badge(entry: &SubjectStatus) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let left = entry.scope_name.clone();
    let right = if entry.result.is_none() || entry.passed_str.is_empty() {
        entry.symbol.word().to_lowercase()
    } else {
        format!(
            "{} {}",
            entry.symbol.word().to_lowercase(),
            entry.passed_str
        )
    };
    // Roughly 6.5 px per character of an 11 px sans-serif font, plus padding.
    let w = |s: &str| (s.chars().count() as f64 * 6.5).ceil() as u32 + 10;
    let (lw, rw) = (w(&left), w(&right));
    let total = lw + rw;
    let color = entry.symbol.color();
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{al}: {ar}">
<title>{al} for {subj}: {ar}</title>
<rect width="{lw}" height="20" fill="#555"/>
<rect x="{lw}" width="{rw}" height="20" fill="{color}"/>
<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
<text x="{lx}" y="14">{al}</text>
<text x="{rx}" y="14">{ar}</text>
</g>
</svg>
"##,
        al = esc(&left),
        ar = esc(&right),
        subj = esc(&entry.subject),
        lx = lw / 2,
        rx = lw + rw / 2,
    )
}
