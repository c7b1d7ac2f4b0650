//! Project automation: `cargo xtask <command>`.

mod commit_lint;
mod delivery;
mod image;
mod lint_delivery;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "image" => image::run(&rest),
        "delivery-lint" => lint_delivery::run(&rest),
        "commit-lint" => commit_lint::run(&rest),
        other => bail!("unknown command {other:?}; commands: image, delivery-lint, commit-lint"),
    }
}
