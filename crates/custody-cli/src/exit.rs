//! Exit codes and the errors that choose them.
//!
//! 0: success. 1: a record or a ledger was refused (verification failure, validation refusal).
//! 2: usage or environment error (bad flag, missing file, unreachable store...).
//! A command signals a refusal by returning an error whose chain contains [`Refused`]; every
//! other error is an environment error.

use std::fmt;
use std::process::ExitCode;

/// Exit code of a verification failure or a refused record.
pub const REFUSED: u8 = 1;
/// Exit code of a usage or environment error.
pub const ENVIRONMENT: u8 = 2;

/// Marks an error as a refusal (exit code 1) rather than an environment error (exit code 2).
///
/// When `reported` is true the command has already printed the details (for example the
/// verification report), and the binary edge prints nothing more.
#[derive(Debug)]
pub struct Refused {
    /// What was refused and why.
    pub message: String,
    /// Whether the details were already printed.
    pub reported: bool,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

/// A refusal whose details must still be printed.
pub fn refused(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Refused {
        message: message.into(),
        reported: false,
    })
}

/// A refusal already reported on the terminal.
pub fn refused_reported(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Refused {
        message: message.into(),
        reported: true,
    })
}

/// Prints an error the way ripgrep does (`custody: ` then the whole chain) and returns the
/// exit code it deserves.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let refusal = err.chain().find_map(|e| e.downcast_ref::<Refused>());
    match refusal {
        Some(r) => {
            if !r.reported {
                eprintln!("custody: {err:#}");
            }
            ExitCode::from(REFUSED)
        }
        None => {
            eprintln!("custody: {err:#}");
            ExitCode::from(ENVIRONMENT)
        }
    }
}
