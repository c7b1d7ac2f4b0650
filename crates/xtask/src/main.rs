//! `cargo xtask <command>`: project automation (tests with a throwaway
//! PostgreSQL, the CI pipeline, benchmarks, delivery, load tests, drills).
//!
//! `main` only dispatches. The command line is [`cli::Cli`]; a command is a
//! module with `pub fn run`, and its options are the module's `Args`.

mod bench;
mod ci;
mod cli;
mod cmd;
mod commit_lint;
mod delivery;
mod deny;
mod drill;
mod e2e;
mod image;
mod infra;
mod k8s;
mod lint_delivery;
mod livestack;
mod load;
mod observability;
mod promote;
mod rig;
mod schemathesis;
mod test;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use cli::{Cli, Command};

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let name = matches.subcommand_name().unwrap_or_default().to_owned();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask {name}: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Test(args) => test::run(&args),
        Command::Ci => ci::run(),
        Command::Deny => deny::run(),
        Command::Bench(args) => bench::run(&args),
        Command::Observability(args) => observability::run(&args),
        Command::E2e(args) => e2e::run(&args),
        Command::Image(args) => image::run(&args),
        Command::LintDelivery => lint_delivery::run(),
        Command::K8s(args) => k8s::run(&args),
        Command::Promote(args) => promote::run(&args),
        Command::CommitLint(args) => commit_lint::run(&args),
        Command::Load(args) => load::run(&args),
        Command::Drill(args) => drill::run(&args),
        Command::Schemathesis(args) => schemathesis::run(&args),
        Command::Infra(args) => infra::run(&args),
    }
}
