//! `idjag`: the command line of MCP Enterprise-Managed Authorization.
//!
//! Exit codes are stable: 0 success, 2 usage error, and one code per error kind (the table
//! in [`exit`], printed by `idjag --help`, documented in docs/GUIDE.md §4). Everything printed
//! goes through [`output`], which escapes what tokens and servers supply.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod demo;
mod discover;
mod exit;
mod input;
mod inspect;
mod mcp;
mod output;
mod token;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "idjag",
    version,
    about = "MCP Enterprise-Managed Authorization (ID-JAG, SEP-990): tokens, discovery, inspection",
    after_help = exit::help()
)]
pub struct Cli {
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
        /// The session configuration (JSON file). It holds the subject token: omit it (or
        /// give `-`) to read the configuration from stdin — preferred to files others can
        /// read; never put tokens in arguments, which show in `ps`.
        #[arg(long)]
        config: Option<String>,
        /// Print token, type, expiry, scope and steps as JSON (a JSON error document on
        /// failure).
        #[arg(long)]
        json: bool,
        /// Print the step trace on stderr.
        #[arg(long)]
        verbose: bool,
    },
    /// Check an MCP server's discovery chain and whether it supports enterprise-managed
    /// authorization (a verdict, and each check with pass, warn or fail).
    Discover {
        /// The MCP server URL.
        url: String,
        /// The IdP issuer to check as well.
        #[arg(long)]
        idp: Option<String>,
        /// A session configuration (JSON file; `-` for stdin): shows which client credentials
        /// it would send to each authorization server, and whether `client_issuers` allows it
        /// (its IdP is checked too unless --idp is given).
        #[arg(long)]
        config: Option<String>,
        /// Print the assessment as JSON (with the error document members on failure).
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
        /// The ID-JAG. Omit it (or give `-`) to read it from stdin — preferred: arguments
        /// show in `ps`.
        assertion: Option<String>,
        /// Print JSON (a JSON error document with the wire answer on failure).
        #[arg(long)]
        json: bool,
    },
    /// Decode (without verifying) an ID-JAG, ID token or any JWT.
    Inspect {
        /// The token. Omit it (or give `-`) to read it from stdin — preferred: arguments
        /// show in `ps`.
        jwt: Option<String>,
        /// Print JSON (a JSON error document on failure).
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    fn json(&self) -> bool {
        match self {
            Command::Demo { json, .. }
            | Command::Token { json, .. }
            | Command::Discover { json, .. }
            | Command::Verify { json, .. }
            | Command::Inspect { json, .. } => *json,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.command.json();
    let result = match cli.command {
        Command::Demo { json, verbose } => demo::run(json, verbose),
        Command::Token {
            server,
            config,
            json,
            verbose,
        } => token::run(&server, config.as_deref(), json, verbose),
        Command::Discover {
            url,
            idp,
            config,
            json,
            verbose,
        } => discover::run(&url, idp.as_deref(), config.as_deref(), json, verbose),
        Command::Inspect { jwt, json } => inspect::run(jwt.as_deref(), json),
        Command::Verify {
            config,
            client_id,
            scope,
            assertion,
            json,
        } => verify::run(
            &config,
            &client_id,
            scope.as_deref(),
            assertion.as_deref(),
            json,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            output::print_err(&f.line());
            if json {
                output::print_json(&f.document());
            }
            ExitCode::from(exit::code(f.error.kind()))
        }
    }
}
