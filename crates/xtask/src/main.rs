//! `cargo xtask <command>`: project automation (tests with a throwaway
//! PostgreSQL, the CI pipeline, benchmarks).
//!
//! `main` only dispatches. A command is a module with
//! `pub const ABOUT: &str` and `pub fn run(args: &[String]) -> anyhow::Result<()>`;
//! adding one is adding its name to the `commands!` list below.

mod cmd;
mod delivery;
mod livestack;
mod rig;

macro_rules! commands {
    ($($name:ident),* $(,)?) => {
        $(mod $name;)*
        const COMMANDS: &[(&str, &str, fn(&[String]) -> anyhow::Result<()>)] =
            &[$((stringify!($name), $name::ABOUT, $name::run)),*];
    };
}

commands![
    test,
    ci,
    deny,
    bench,
    observability,
    e2e,
    image,
    lint_delivery,
    k8s,
    promote,
    commit_lint,
    load,
    drill,
    schemathesis,
    infra
];

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, rest)) = args.split_first() else {
        usage();
        return std::process::ExitCode::FAILURE;
    };
    match COMMANDS.iter().find(|(command, _, _)| command == name) {
        Some((_, _, run)) => match run(rest) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("xtask {name}: error: {error:#}");
                std::process::ExitCode::FAILURE
            }
        },
        None if name == "help" || name == "--help" || name == "-h" => {
            usage();
            std::process::ExitCode::SUCCESS
        }
        None => {
            eprintln!("xtask: unknown command `{name}`");
            usage();
            std::process::ExitCode::FAILURE
        }
    }
}

fn usage() {
    eprintln!("usage: cargo xtask <command> [args]\n\ncommands:");
    for (name, about, _) in COMMANDS {
        eprintln!("  {name:<8} {about}");
    }
}
