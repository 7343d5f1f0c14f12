//! Reports: the monitor's YAML report (plus our evidence under extra keys), JSON, JUnit and
//! Markdown writers, readers for our reports and the reference tool's, and the console summary.
