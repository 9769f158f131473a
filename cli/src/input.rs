//! Tokens and configurations from arguments, files or stdin.
//!
//! Secrets should not be command-line arguments: every user of the machine sees them in
//! `ps`. Every subcommand that takes a token therefore reads it from stdin when the argument
//! is `-` or omitted (and stdin is not a terminal).

use crate::output::Failure;
use clap::CommandFactory;
use idjag::{Error, ErrorKind, Step};
use std::io::{IsTerminal, Read};

/// Largest token read from stdin.
pub const MAX_TOKEN_BYTES: usize = 128 * 1024;
/// Largest configuration read from a file or stdin.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// Where an input comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    Arg(&'a str),
    Stdin,
}

/// `-` or nothing means stdin; nothing with a terminal on stdin is a usage error (exit 2)
/// rather than a silent wait for typing.
pub fn source<'a>(arg: Option<&'a str>, what: &str) -> Source<'a> {
    match arg {
        Some("-") => Source::Stdin,
        Some(a) => Source::Arg(a),
        None if std::io::stdin().is_terminal() => crate::Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                format!(
                    "give the {what} on stdin (preferred: arguments show in `ps`), as `-`, or \
                     as an argument"
                ),
            )
            .exit(),
        None => Source::Stdin,
    }
}

/// Reads stdin (at most `limit` bytes) as UTF-8 text, trimmed.
fn read_stdin(limit: usize, what: &str, kind: ErrorKind) -> Result<String, Error> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Error::new(
                kind,
                Step::Config,
                format!("could not read the {what} from stdin: {}", e.kind()),
            )
        })?;
    if bytes.len() > limit {
        return Err(Error::new(
            kind,
            Step::Config,
            format!("the {what} on stdin is larger than {limit} bytes"),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::new(
            kind,
            Step::Config,
            format!("the {what} on stdin is not UTF-8"),
        )
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::new(
            kind,
            Step::Config,
            format!("no {what} on stdin"),
        ));
    }
    Ok(text.to_string())
}

/// A token (JWT, ID-JAG) from its argument or stdin.
pub fn token(source: Source<'_>, what: &str) -> Result<String, Failure> {
    match source {
        Source::Arg(t) => Ok(t.trim().to_string()),
        Source::Stdin => read_stdin(MAX_TOKEN_BYTES, what, ErrorKind::InvalidArgument)
            .map_err(|e| Failure::from(e).input()),
    }
}

/// A JSON configuration from a file or stdin.
pub fn config(source: Source<'_>) -> Result<String, Failure> {
    match source {
        Source::Stdin => read_stdin(MAX_CONFIG_BYTES, "configuration", ErrorKind::Configuration)
            .map_err(|e| {
                Failure::from(e)
                    .with_hint("pipe the JSON configuration on stdin, or give --config FILE")
            }),
        Source::Arg(path) => {
            let missing = |detail: String| {
                Failure::from(Error::configuration(format!(
                    "could not read configuration file `{path}`: {detail}"
                )))
                .with_hint("check the --config path: the file must exist and be readable")
            };
            let file = std::fs::File::open(path).map_err(|e| missing(e.kind().to_string()))?;
            let mut bytes = Vec::new();
            file.take(MAX_CONFIG_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| missing(e.kind().to_string()))?;
            if bytes.len() > MAX_CONFIG_BYTES {
                return Err(missing(format!("larger than {MAX_CONFIG_BYTES} bytes")));
            }
            String::from_utf8(bytes).map_err(|_| missing("not UTF-8".into()))
        }
    }
}
