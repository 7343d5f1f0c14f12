//! Console output of the commands: standard output written so that a reader that goes away
//! (`scs-check report r.yaml -f json | head -1`) stops the output instead of panicking, as
//! `print!` would on a closed pipe, with verdict words coloured as [`crate::terminal`] says.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::terminal::ColorChoice;
pub(crate) use crate::terminal::{Stream, colors_on, count, paint_verdicts, set_color_choice};

/// Writes a console summary to standard output, its verdict words coloured when
/// [`colors_on`] says so for standard output.
pub(crate) fn print_summary(text: &str) {
    if colors_on(Stream::Stdout) {
        print(&paint_verdicts(text));
    } else {
        print(text);
    }
}

/// Set once standard output was found closed; later output is dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to standard output and flushes it, every line behind the output prefix of a
/// run inside `batch` ([`crate::terminal::prefix_lines`]). A closed pipe (or any other write
/// error) stops all further standard output silently; it is never a panic.
pub(crate) fn print(text: &str) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let text = crate::terminal::prefix_lines(text);
    let mut out = std::io::stdout().lock();
    if write_or_stop(&mut out, text.as_bytes()).is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Writes `text` and a line end to standard output (see [`print`]).
pub(crate) fn println(text: &str) {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    print(&line);
}

/// Writes everything and flushes; the first error (a broken pipe included) is returned so the
/// caller can stop.
fn write_or_stop(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone away.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_an_error_not_a_panic() {
        let err = write_or_stop(&mut ClosedPipe, b"text\n").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    }
}
