//! `idjag`: the command line of MCP Enterprise-Managed Authorization.
//!
//! Exit codes are stable: 0 success, 2 usage error, and one code per error kind (see
//! [`exit_code`] and docs/GUIDE.md).

mod demo;
mod discover;
mod inspect;
mod mcp;
mod output;
mod token;
mod verify;

use clap::{Parser, Subcommand};
use idjag::{Error, ErrorKind};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "idjag",
    version,
    about = "MCP Enterprise-Managed Authorization (ID-JAG, SEP-990): tokens, discovery, inspection"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole flow against an embedded IdP, authorization server and MCP server.
    Demo {
        /// Print one JSON object instead of the step-by-step report.
        #[arg(long)]
        json: bool,
        /// Also print every HTTP exchange as it happens (stderr).
        #[arg(long)]
        verbose: bool,
    },
    /// Get an access token for an MCP server (token alone on stdout).
    Token {
        /// The MCP server URL.
        #[arg(long)]
        server: String,
        /// The session configuration (JSON file; `-` for stdin).
        #[arg(long)]
        config: String,
        /// Print token, type, expiry, scope and steps as JSON.
        #[arg(long)]
        json: bool,
        /// Print the step trace on stderr.
        #[arg(long)]
        verbose: bool,
    },
    /// Show the discovery chain of an MCP server and whether it supports enterprise-managed
    /// authorization.
    Discover {
        /// The MCP server URL.
        url: String,
        /// The IdP issuer to check as well.
        #[arg(long)]
        idp: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Print the step trace on stderr.
        #[arg(long)]
        verbose: bool,
    },
    /// Verify an ID-JAG as an MCP authorization server would (accept, or reject with a reason).
    Verify {
        /// The verifier configuration (JSON file; `-` for stdin).
        #[arg(long)]
        config: String,
        /// The client that authenticated at the token endpoint.
        #[arg(long)]
        client_id: String,
        /// The scope requested in the jwt-bearer request.
        #[arg(long)]
        scope: Option<String>,
        /// The ID-JAG (`-` reads it from stdin).
        assertion: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decode (without verifying) an ID-JAG, ID token or any JWT.
    Inspect {
        /// The token (`-` reads it from stdin).
        jwt: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The stable exit code of an error kind (documented in docs/GUIDE.md).
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidArgument => 10,
        ErrorKind::Configuration => 11,
        ErrorKind::Transport => 12,
        ErrorKind::Timeout => 13,
        ErrorKind::HttpStatus => 14,
        ErrorKind::OauthError => 15,
        ErrorKind::ResponseInvalid => 16,
        ErrorKind::ResponseTooLarge => 17,
        ErrorKind::InsecureUrl => 18,
        ErrorKind::RedirectRefused => 19,
        ErrorKind::IssuerMismatch => 20,
        ErrorKind::ResourceMismatch => 21,
        ErrorKind::NotSupported => 22,
        ErrorKind::ReauthenticationRequired => 23,
        ErrorKind::VerificationFailed => 24,
        ErrorKind::Internal => 25,
        _ => 1,
    }
}

fn report(e: &Error) -> ExitCode {
    eprintln!("{}", output::error_line(e));
    ExitCode::from(exit_code(e.kind()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { json, verbose } => demo::run(json, verbose),
        Command::Token {
            server,
            config,
            json,
            verbose,
        } => token::run(&server, &config, json, verbose),
        Command::Discover {
            url,
            idp,
            json,
            verbose,
        } => discover::run(&url, idp.as_deref(), json, verbose),
        Command::Inspect { jwt, json } => inspect::run(&jwt, json),
        Command::Verify {
            config,
            client_id,
            scope,
            assertion,
            json,
        } => verify::run(&config, &client_id, scope.as_deref(), &assertion, json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_per_kind() {
        let mut seen = std::collections::HashSet::new();
        for k in ErrorKind::ALL {
            let c = exit_code(*k);
            assert!(c >= 10, "{k} maps to a reserved code");
            assert!(seen.insert(c), "{k} shares exit code {c}");
        }
    }
}
