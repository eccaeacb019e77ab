//! Where results go: human text (default), JSON (`--json`), or almost nothing (`--quiet`).
//!
//! Results go to standard output; progress and diagnostics go to standard error, so that
//! `custody export > file` and `custody --json ... | jq` stay clean.

use serde_json::Value;

/// The output mode chosen by the global flags.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// Machine-readable JSON on standard output.
    pub json: bool,
    /// Print only the essential result.
    pub quiet: bool,
}

impl Output {
    /// Whether human-readable detail should be printed.
    pub fn human(&self) -> bool {
        !self.json && !self.quiet
    }

    /// Whether progress bars may be drawn (human mode, standard error is a terminal).
    pub fn progress(&self) -> bool {
        self.human() && std::io::IsTerminal::is_terminal(&std::io::stderr())
    }

    /// Prints a line of human detail (not in `--json` or `--quiet` mode).
    pub fn info(&self, line: impl AsRef<str>) {
        if self.human() {
            println!("{}", line.as_ref());
        }
    }

    /// Prints the essential human result (suppressed only in `--json` mode).
    pub fn result(&self, line: impl AsRef<str>) {
        if !self.json {
            println!("{}", line.as_ref());
        }
    }

    /// Prints a JSON document on one line (only in `--json` mode).
    pub fn json(&self, value: &Value) {
        if self.json {
            println!("{value}");
        }
    }
}
