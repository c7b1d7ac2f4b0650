//! The command line of `cargo xtask` (clap derive): one subcommand per
//! command module, whose options are the `Args` struct beside the code that
//! reads them.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    about = "Project automation: tests with a throwaway PostgreSQL, the CI pipeline, benchmarks, delivery, load tests and drills",
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[command(rename_all = "snake_case")]
pub enum Command {
    /// Run every test (nextest + doctests against a throwaway PostgreSQL, then the browser e2e suite); extra args go to the test runner and skip e2e
    Test(crate::test::Args),
    /// Format check, clippy, every test incl. browser e2e, cargo-deny, schemathesis, delivery lint, observability, Kubernetes packaging, image, k6 smoke, short drills, infrastructure code (the CI pipeline)
    Ci,
    /// cargo-deny: licenses, bans, sources; advisories when the RustSec DB is reachable
    Deny,
    /// Benchmark the API (wrk and pgbench; SQLite and PostgreSQL; a million-row data set; callgrind instructions per request) and write docs/benchmarks.md; `bench telemetry`: trace export overhead and scrape times
    Bench(crate::bench::Args),
    /// promtool/amtool checks of rules, tests and routes, dashboard validation, and the live-stack test (default both)
    Observability(crate::observability::Args),
    /// Browser end-to-end suite of the web UI (Chromium + playwright-core)
    E2e(crate::e2e::Args),
    /// Build the container image and smoke-test it (read-only, uid 65532, SIGTERM)
    Image(crate::image::Args),
    /// Validate Dockerfiles, compose stack, Prometheus/Alertmanager/Grafana config, CI pipelines
    LintDelivery,
    /// Helm chart, environments, Argo CD: lint, render, schemas, snapshots, kubernetes-validate, checkov
    K8s(crate::k8s::Args),
    /// Pin an environment's image: `promote <staging|prod> <sha256:digest>` | `promote prod --from staging`
    Promote(crate::promote::Args),
    /// Check commit messages are Conventional Commits
    CommitLint(crate::commit_lint::Args),
    /// k6 load test on 2 api replicas + web behind HAProxy, PostgreSQL; thresholds = SLOs
    Load(crate::load::Args),
    /// Resilience drills: rolling-restart | db-outage | failover | crash | backup-restore | overload
    Drill(crate::drill::Args),
    /// Schemathesis (all checks) against the OpenAPI document, on SQLite and PostgreSQL
    Schemathesis(crate::schemathesis::Args),
    /// Infrastructure code: terraform fmt/rules/checkov, cloud-init schema, ansible-lint, molecule converge
    Infra(crate::infra::Args),
}

/// `cargo xtask WORDS…` as the command line would take it.
pub fn parse<S: AsRef<str>>(words: &[S]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("cargo xtask").chain(words.iter().map(AsRef::as_ref)))
}

/// Why `cargo xtask WORDS` would be refused, if it would: `--help` is
/// accepted, and a lone command name that needs arguments (`cargo xtask
/// commit_lint` named in a comment or in prose) is a mention, not a command
/// line.
pub fn refusal<S: AsRef<str>>(words: &[S]) -> Option<clap::Error> {
    match parse(words) {
        Ok(_) => None,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => None,
        Err(e)
            if words.len() == 1 && e.kind() == clap::error::ErrorKind::MissingRequiredArgument =>
        {
            None
        }
        Err(e) => Some(e),
    }
}

/// The arguments of each `cargo xtask …` written in `text` as a command:
/// shell words up to the end of the line, a backtick, a comment, a comma or a
/// shell operator. Left out: a bare `cargo xtask`, mentions in parentheses
/// (`(cargo xtask e2e sets it)`), lines with an unclosed quote, and usage
/// synopses (`<env>`, `[--quick]`, `{target}`, `a / b`, `…`).
pub fn invocations(text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("cargo xtask") {
            rest = &rest[at + "cargo xtask".len()..];
            if let Some(words) = shell_words(rest)
                && !words.is_empty()
                && !words.iter().any(|w| is_placeholder(w))
            {
                found.push(words);
            }
        }
    }
    found
}

fn is_placeholder(word: &str) -> bool {
    let without_variables = word.replace("${", "");
    word == "/" || word.contains("...") || without_variables.contains(['<', '[', '{', '…'])
}

/// Splits shell words (single and double quotes) until the command ends.
fn shell_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_default().push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, '`' | ';' | '|' | '&' | ',') => break,
            // A mention in parentheses, not a command line.
            (None, ')') => return None,
            (None, '#') if word.is_none() => break,
            (None, c) => word.get_or_insert_default().push(c),
        }
    }
    if quote.is_some() {
        return None;
    }
    words.extend(word);
    Some(words)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;
    use std::process::Command as Process;

    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::*;

    fn accepted(words: &[&str]) -> Cli {
        parse(words).unwrap_or_else(|e| panic!("cargo xtask {}: {e}", words.join(" ")))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn finds_invocations_and_skips_synopses() {
        let text = "run: cargo xtask ci\n  - cargo xtask image --source dockerfile\n\
                    exec cargo xtask commit_lint --range \"${BASE}..${HEAD}\" # why\n\
                    `cargo xtask test -E 'test(login)'` and (`cargo xtask test -- items`)\n\
                    cargo xtask promote <env> <digest>; cargo xtask e2e [--mode serve|split]\n\
                    cargo xtask test / ci / bench; cargo xtask {target}; `cargo xtask`; cargo xtask drill …";
        assert_eq!(
            invocations(text),
            [
                vec!["ci"],
                vec!["image", "--source", "dockerfile"],
                vec!["commit_lint", "--range", "${BASE}..${HEAD}"],
                vec!["test", "-E", "test(login)"],
                vec!["test", "--", "items"],
            ]
        );
    }

    #[test]
    fn a_lone_command_name_is_a_mention_and_a_bad_flag_is_refused() {
        assert!(refusal(&["commit_lint"]).is_none());
        assert!(refusal(&["ci", "--help"]).is_none());
        assert!(refusal(&["commit_lint", "--file", "msg"]).is_none());
        assert!(refusal(&["commit_lint", "--bogus"]).is_some());
        assert!(refusal(&["no_such_command"]).is_some());
    }

    #[test]
    fn every_flag_positional_and_default_is_kept() {
        let Command::Bench(bench) = accepted(&["bench"]).command else {
            panic!()
        };
        assert!(
            !bench.quick
                && bench.db.is_none()
                && bench.out.is_none()
                && !bench.no_data
                && !bench.no_cpu
        );
        let Command::Bench(bench) = accepted(&[
            "bench",
            "--quick",
            "--db",
            "postgres",
            "--out",
            "x.md",
            "--no-data",
            "--no-cpu",
            "--baseline",
            "old",
        ])
        .command
        else {
            panic!()
        };
        assert!(bench.quick && bench.no_data && bench.no_cpu && bench.command.is_none());
        assert_eq!(format!("{:?}", bench.db), "Some(Postgres)");
        assert_eq!(
            (bench.out.unwrap(), bench.baseline.unwrap()),
            ("x.md".into(), "old".into())
        );
        for (words, expected) in [
            (&["bench", "telemetry"][..], (8, 10)),
            (&["bench", "telemetry", "5", "3"], (5, 3)),
        ] {
            let Command::Bench(bench) = accepted(words).command else {
                panic!()
            };
            let Some(crate::bench::Command::Telemetry(t)) = bench.command else {
                panic!()
            };
            assert_eq!((t.seconds, t.rounds), expected);
        }

        let Command::Test(test) = accepted(&["test", "-E", "test(login)", "--no-capture"]).command
        else {
            panic!()
        };
        assert_eq!(test.runner, ["-E", "test(login)", "--no-capture"]);
        let Command::Test(test) = accepted(&["test"]).command else {
            panic!()
        };
        assert!(test.runner.is_empty());

        let Command::Image(image) = accepted(&["image"]).command else {
            panic!()
        };
        assert_eq!(
            (image.source, image.tag.as_str()),
            (crate::image::Source::Prebuilt, "userhub:local")
        );
        let Command::Image(image) =
            accepted(&["image", "--source", "dockerfile", "--tag", "x:1"]).command
        else {
            panic!()
        };
        assert_eq!(
            (image.source, image.tag.as_str()),
            (crate::image::Source::Dockerfile, "x:1")
        );

        let Command::Schemathesis(s) = accepted(&["schemathesis"]).command else {
            panic!()
        };
        assert_eq!((s.backend, s.max_examples, s.max_time), (None, 25, 150));
        let Command::Schemathesis(s) = accepted(&[
            "schemathesis",
            "--backend",
            "sqlite",
            "--max-examples",
            "10",
            "--max-time",
            "60",
        ])
        .command
        else {
            panic!()
        };
        assert_eq!(
            (s.backend, s.max_examples, s.max_time),
            (Some(crate::schemathesis::Backend::Sqlite), 10, 60)
        );

        let Command::Load(load) = accepted(&["load"]).command else {
            panic!()
        };
        assert_eq!((load.scenario.as_str(), load.no_record), ("smoke", false));
        let Command::Load(load) =
            accepted(&["load", "stress", "--no-record", "--binary", "/b"]).command
        else {
            panic!()
        };
        assert_eq!((load.scenario.as_str(), load.no_record), ("stress", true));
        assert_eq!(load.binary.source().label(), "/b");
        let Command::Drill(drill) = accepted(&["drill", "db-outage", "--short", "--debug"]).command
        else {
            panic!()
        };
        assert_eq!(
            (
                drill.name.as_str(),
                drill.short,
                drill.binary.source().label()
            ),
            ("db-outage", true, "debug build".into())
        );
        let Command::Drill(drill) = accepted(&["drill", "crash"]).command else {
            panic!()
        };
        assert_eq!(drill.binary.source().label(), "release build");

        let Command::Promote(p) = accepted(&["promote", "prod", "--from", "staging"]).command
        else {
            panic!()
        };
        assert_eq!(
            (p.env.as_str(), p.digest, p.from.as_deref()),
            ("prod", None, Some("staging"))
        );
        let Command::Promote(p) = accepted(&["promote", "staging", "sha256:ab"]).command else {
            panic!()
        };
        assert_eq!(p.digest.as_deref(), Some("sha256:ab"));

        let Command::Infra(infra) = accepted(&["infra", "molecule", "k3s"]).command else {
            panic!()
        };
        assert!(
            matches!(infra.part, Some(crate::infra::Part::Molecule { scenario }) if scenario == "k3s")
        );
        let Command::Observability(o) = accepted(&["observability", "--static"]).command else {
            panic!()
        };
        assert!(o.static_only && !o.live);
        let Command::K8s(k) = accepted(&["k8s", "--update", "--update-snapshots"]).command else {
            panic!()
        };
        assert!(k.update && k.update_snapshots);
        let Command::E2e(e) = accepted(&["e2e", "--mode", "split"]).command else {
            panic!()
        };
        assert_eq!(e.mode.as_deref(), Some("split"));
        let Command::CommitLint(c) = accepted(&["commit_lint", "--file", "MSG"]).command else {
            panic!()
        };
        assert_eq!(c.file.as_deref(), Some("MSG"));
        for words in [&["ci"][..], &["deny"], &["lint_delivery"]] {
            accepted(words);
        }
    }

    #[test]
    fn wrong_arguments_are_refused() {
        for words in [
            &["nope"][..],
            &["ci", "extra"],
            &["deny", "--x"],
            &["bench", "--db", "mysql"],
            &["bench", "telemetry", "5"],
            &["bench", "telemetry", "99", "3"],
            &["image", "--source", "nope"],
            &["image", "--bogus"],
            &["load", "nope"],
            &["drill"],
            &["drill", "nope"],
            &["drill", "crash", "--debug", "--release"],
            &["observability", "--static", "--live"],
            &["e2e", "--mode", "both"],
            &["promote", "staging"],
            &["promote", "prod", "sha256:ab", "--from", "staging"],
            &["commit_lint"],
            &["commit_lint", "--file", "a", "--range", "b"],
            &["schemathesis", "--max-examples", "many"],
            &["infra", "molecule"],
        ] {
            assert!(
                parse(words).is_err(),
                "cargo xtask {} was accepted",
                words.join(" ")
            );
        }
    }

    #[test]
    fn help_is_offered() {
        for words in [
            &["--help"][..],
            &["help"],
            &["bench", "--help"],
            &["infra", "--help"],
            &["ci", "--help"],
        ] {
            let kind = parse(words).unwrap_err().kind();
            assert_eq!(kind, ErrorKind::DisplayHelp, "{words:?}");
        }
        let kind = parse::<&str>(&[]).unwrap_err().kind();
        assert_eq!(kind, ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand);
    }

    /// Every `cargo xtask …` the repository writes as a command (CI
    /// workflows, pipelines, hooks, scripts, docs), outside the Rust sources.
    #[test]
    fn every_invocation_in_the_repository_is_accepted() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let listed = Process::new("git")
            .arg("-C")
            .arg(&root)
            .arg("ls-files")
            .output()
            .unwrap();
        assert!(listed.status.success(), "git ls-files failed");
        let mut checked = 0;
        let mut refused = Vec::new();
        for file in String::from_utf8(listed.stdout)
            .unwrap()
            .lines()
            .filter(|f| !f.ends_with(".rs"))
        {
            let Ok(text) = std::fs::read_to_string(root.join(file)) else {
                continue;
            };
            for words in invocations(&text) {
                checked += 1;
                if let Some(e) = refusal(&words) {
                    refused.push(format!("{file}: cargo xtask {}: {e}", words.join(" ")));
                }
            }
        }
        assert!(refused.is_empty(), "{}", refused.join("\n"));
        assert!(checked > 100, "only {checked} invocations found");
    }
}
