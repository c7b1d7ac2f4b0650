//! `cargo xtask infra`: checks the infrastructure code under `infra/` with
//! real tools, and converges the Ansible roles for real.
//!
//! - Terraform (`infra/terraform`, `infra/proxmox`): `terraform fmt -check`,
//!   the wrapper's behaviour (`infra/tests/wrapper_test.sh`),
//!   the repository rules over the python-hcl2 parse (`infra/tests/terraform_rules.py`:
//!   pinned versions, typed and described variables, no literal secrets,
//!   encryption/versioning/public-access-block on every bucket, locked
//!   backends) and checkov (no failed check; every skip carries a reason).
//!   `terraform validate` needs the providers, which cannot be downloaded
//!   here: it runs in hosted CI (`.github/workflows/infra.yml`).
//! - cloud-init: every user-data template, rendered with sample values,
//!   passes `cloud-init schema`.
//! - Ansible: `ansible-lint` (production profile) and
//!   `ansible-playbook --syntax-check` on every playbook.
//! - Molecule: the `platform` scenario converges common, hardening,
//!   node_exporter, loadbalancer and postgresql in a systemd container of a
//!   Debian 12 image built offline (debootstrap from the machine's Debian
//!   mirror, `docker import`), checks a second converge changes nothing and
//!   runs each role's verify playbook. The image is tagged by a hash of its
//!   recipe and reused while that is unchanged; the downloaded packages are
//!   kept in `target/xtask-infra/debs`, so a recipe change fetches only what
//!   changed. Container and network names carry a hash of the target
//!   directory and molecule's state lives under it, so checkouts sharing one
//!   Docker engine do not collide. k3s needs its release from GitHub:
//!   `cargo xtask infra molecule k3s` converges it in hosted CI.
//!
//! Python tools live in `target/venv-infra` (pinned in `infra/requirements.txt`);
//! the Ansible collections come from the pinned `ansible` distribution.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};

use crate::delivery::docker::Engine;
use crate::delivery::{cmd, repo_root, target_dir};

/// The `ansible` distribution the collections are taken from.
const ANSIBLE_DIST: &str = "ansible==12.3.0";
/// Collections extracted from it (requirements.yml lists the same versions).
const COLLECTIONS: &[&str] = &[
    "ansible/posix",
    "community/postgresql",
    "community/docker",
    "community/library_inventory_filtering_v1",
];
/// Debian release of the molecule base image.
const SUITE: &str = "bookworm";
/// Preinstalled in the base image, so converges find every package in the
/// local dpkg database and never download.
const BASE_PACKAGES: &[&str] = &[
    "python3",
    "python3-apt",
    "python3-psycopg2",
    "python3-systemd",
    "acl",
    "sudo",
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "nftables",
    "haproxy",
    "postgresql",
    "pgbackrest",
    "prometheus-node-exporter",
    "chrony",
    "fail2ban",
    "auditd",
    "unattended-upgrades",
    "apt-listchanges",
    "iproute2",
    "procps",
    "ca-certificates",
];
/// `docker import` changes: systemd as PID 1, told it runs in a container.
const IMAGE_CHANGES: &[&str] = &["CMD [\"/lib/systemd/systemd\"]", "ENV container=docker"];
const IMAGE_REPOSITORY: &str = "userhub-infra/debian12";
/// Bump to rebuild the image when the recipe changes in a way the hash misses.
const IMAGE_RECIPE_VERSION: &str = "2";
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// `cargo xtask infra [lint | image | molecule SCENARIO]`; with none of them,
/// every check plus the molecule platform scenario.
#[derive(Debug, Default, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub part: Option<Part>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Part {
    /// terraform fmt, rules, checkov, wrapper tests, cloud-init schema, ansible-lint, syntax checks, inventory script
    Lint,
    /// Build (or reuse) the Debian 12 molecule base image
    Image,
    /// `molecule test` of one role (k3s downloads its release: hosted CI) or of the platform scenario
    Molecule {
        /// A role with a molecule scenario, or `platform`
        scenario: String,
    },
}

/// Entry point of `cargo xtask infra`.
pub fn run(args: &Args) -> Result<()> {
    match &args.part {
        None => all(),
        Some(Part::Lint) => {
            let tools = Tools::ensure()?;
            lint(&tools)
        }
        Some(Part::Image) => {
            let work = work_dir()?;
            let _engine = Engine::ensure(&work)?;
            let tag = base_image(&work)?;
            println!("infra: base image {tag}");
            Ok(())
        }
        Some(Part::Molecule { scenario: name }) => scenario(name),
    }
}

fn all() -> Result<()> {
    let started = Instant::now();
    let work = work_dir()?;
    let _engine = Engine::ensure(&work)?;
    // The image (debootstrap, mostly network and dpkg) builds while the
    // Python tools install and the linters run.
    let image_work = work.clone();
    let image = thread::spawn(move || base_image(&image_work));
    let lint_result = Tools::ensure().and_then(|tools| lint(&tools).map(|()| tools));
    let image = image
        .join()
        .map_err(|_| anyhow::anyhow!("the base image thread panicked"))?;
    let tools = lint_result?;
    let image = image?;
    timed(
        "molecule test -s platform (converge, idempotence, verify)",
        || molecule(&tools, &image, &ansible_dir(), &["test", "-s", "platform"]),
    )?;
    println!(
        "infra: OK in {:.0} s (Terraform, cloud-init, Ansible lint, molecule platform converge)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `molecule test` of one role's scenario, or of the platform scenario.
fn scenario(name: &str) -> Result<()> {
    let (dir, args): (PathBuf, &[&str]) = if name == "platform" {
        (ansible_dir(), &["test", "-s", "platform"])
    } else {
        let role = ansible_dir().join("roles").join(name);
        ensure!(
            !name.contains('/') && role.join("molecule/default/molecule.yml").exists(),
            "no role {name} with a molecule scenario under infra/ansible/roles"
        );
        (role, &["test"])
    };
    let work = work_dir()?;
    let _engine = Engine::ensure(&work)?;
    let tools = Tools::ensure()?;
    let image = base_image(&work)?;
    timed(&format!("molecule test ({name})"), || {
        molecule(&tools, &image, &dir, args)
    })
}

fn work_dir() -> Result<PathBuf> {
    let work = target_dir().join("xtask-infra");
    fs::create_dir_all(&work)?;
    Ok(work)
}

fn infra_dir() -> PathBuf {
    repo_root().join("infra")
}

fn ansible_dir() -> PathBuf {
    infra_dir().join("ansible")
}

fn timed<T>(name: &str, step: impl FnOnce() -> Result<T>) -> Result<T> {
    crate::cmd::timed(&format!("infra: {name}"), step)
}

/// The Python tools and collections of the checks.
struct Tools {
    venv: PathBuf,
    collections: PathBuf,
}

impl Tools {
    fn ensure() -> Result<Self> {
        timed("python tools (target/venv-infra)", || {
            ensure_terraform()?;
            let venv = target_dir().join("venv-infra");
            let requirements = infra_dir().join("requirements.txt");
            let stamp_value = format!(
                "{:016x}",
                fnv1a(
                    format!(
                        "{}\n{ANSIBLE_DIST}\n{COLLECTIONS:?}\n{}",
                        fs::read_to_string(&requirements)?,
                        cmd::capture(Command::new("python3").arg("--version"))?
                    )
                    .as_bytes()
                )
            );
            let stamp = venv.join(".userhub-stamp");
            let collections = venv.join("collections");
            if fs::read_to_string(&stamp).ok().as_deref() == Some(stamp_value.as_str()) {
                eprintln!("infra: {} is up to date", venv.display());
                return Ok(Self { venv, collections });
            }
            if venv.exists() {
                fs::remove_dir_all(&venv)?;
            }
            let create = || cmd::run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
            if create().is_err() {
                // Debian keeps venv support (ensurepip) in a package of its own.
                eprintln!("infra: python3 -m venv failed; installing python3-venv");
                let _ = fs::remove_dir_all(&venv);
                cmd::apt_install(&["python3-venv"])?;
                create()?;
            }
            let pip = venv.join("bin/pip");
            cmd::run(
                Command::new(&pip)
                    .args([
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "--no-compile",
                        "-r",
                    ])
                    .arg(&requirements),
            )?;
            extract_collections(&pip, &venv, &collections)?;
            fs::write(&stamp, stamp_value)?;
            Ok(Self { venv, collections })
        })
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.venv.join("bin").join(name)
    }

    /// A venv tool with the collections, roles and offline settings applied.
    fn command(&self, name: &str) -> Command {
        let mut command = Command::new(self.bin(name));
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.venv.join("bin")];
        paths.extend(std::env::split_paths(&path));
        command
            .env("PATH", std::env::join_paths(paths).unwrap_or(path))
            .env("ANSIBLE_COLLECTIONS_PATH", &self.collections)
            .env("ANSIBLE_CONFIG", ansible_dir().join("ansible.cfg"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("PY_COLORS", "0")
            .env("NO_COLOR", "1")
            .env(
                "ANSIBLE_LOCAL_TEMP",
                target_dir().join("xtask-infra/ansible-tmp"),
            )
            // checkov: no Prisma Cloud calls (guidelines, mappings).
            .env("BC_SKIP_MAPPING", "TRUE")
            .env("CHECKOV_SKIP_DOWNLOAD", "TRUE");
        command
    }
}

fn ensure_terraform() -> Result<()> {
    ensure!(
        cmd::which("terraform").is_some(),
        "terraform is not on PATH: install Terraform 1.11 (https://developer.hashicorp.com/terraform/install)"
    );
    Ok(())
}

/// Copies the pinned collections out of the `ansible` distribution wheel
/// (the whole distribution holds ~100 collections; the roles use four).
fn extract_collections(pip: &Path, venv: &Path, collections: &Path) -> Result<()> {
    let wheels = venv.join("wheels");
    cmd::run(
        Command::new(pip)
            .args([
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "-d",
            ])
            .arg(&wheels)
            .arg(ANSIBLE_DIST),
    )?;
    let wheel = fs::read_dir(&wheels)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .context("pip download left no wheel")?;
    let script = "import sys, zipfile\n\
        wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]\n\
        prefixes = tuple(f'ansible_collections/{n}/' for n in names)\n\
        with zipfile.ZipFile(wheel) as z:\n\
        \x20   members = [m for m in z.namelist() if m.startswith(prefixes)]\n\
        \x20   z.extractall(dest, members)\n\
        print(f'{len(members)} files of {len(names)} collections')\n";
    let mut command = Command::new(venv.join("bin/python"));
    command
        .args(["-c", script])
        .arg(&wheel)
        .arg(collections)
        .args(COLLECTIONS);
    let summary = cmd::capture(&mut command)?;
    eprintln!("infra: extracted {summary} into {}", collections.display());
    fs::remove_dir_all(&wheels)?;
    Ok(())
}

fn lint(tools: &Tools) -> Result<()> {
    let infra = infra_dir();
    timed("terraform fmt -check -recursive infra", || {
        cmd::run(Command::new("terraform").current_dir(repo_root()).args([
            "fmt",
            "-check",
            "-recursive",
            "-diff",
            "infra",
        ]))
    })?;
    timed("terraform rules (python-hcl2)", || {
        let rules = infra.join("tests/terraform_rules.py");
        cmd::run(tools.command("python").arg(&rules).arg("--self-test"))?;
        cmd::run(
            tools
                .command("python")
                .arg(&rules)
                .arg(infra.join("terraform"))
                .arg(infra.join("proxmox")),
        )
    })?;
    timed(
        "terraform wrapper tests (stand-in terraform and aws)",
        || cmd::run(Command::new("bash").arg(infra.join("tests/wrapper_test.sh"))),
    )?;
    timed("checkov (Terraform)", || {
        cmd::run(tools.command("checkov").current_dir(&infra).args([
            "--directory",
            ".",
            "--framework",
            "terraform",
            "--skip-download",
            "--compact",
            "--quiet",
            "--skip-path",
            "tests/fixtures",
        ]))
    })?;
    timed("cloud-init schema", || cloud_init_schema(tools))?;
    timed("ansible-lint (production profile)", || {
        cmd::run(
            tools
                .command("ansible-lint")
                .current_dir(ansible_dir())
                .args(["--profile", "production", "--offline", "--nocolor"]),
        )
    })?;
    timed("ansible-playbook --syntax-check", || {
        // One ansible-playbook run checks them all (it accepts several playbooks).
        let playbooks = playbooks()?;
        cmd::capture(
            tools
                .command("ansible-playbook")
                .current_dir(ansible_dir())
                .env("ANSIBLE_ROLES_PATH", ansible_dir().join("roles"))
                .args(["--syntax-check", "-i", "localhost,"])
                .args(&playbooks),
        )?;
        eprintln!("infra: {} playbooks pass --syntax-check", playbooks.len());
        Ok(())
    })?;
    timed(
        "inventory_from_terraform.py on a sample output",
        inventory_script,
    )?;
    Ok(())
}

/// site.yml and every molecule playbook.
fn playbooks() -> Result<Vec<PathBuf>> {
    let ansible = ansible_dir();
    let mut found = vec![ansible.join("site.yml")];
    let mut scenarios = vec![ansible.join("molecule/platform")];
    for role in fs::read_dir(ansible.join("roles"))? {
        let role = role?.path();
        ensure!(
            role.join("molecule/default/molecule.yml").exists(),
            "role {} has no molecule scenario",
            role.display()
        );
        scenarios.push(role.join("molecule/default"));
    }
    for scenario in scenarios {
        for name in ["prepare.yml", "converge.yml", "verify.yml"] {
            let playbook = scenario.join(name);
            if playbook.exists() {
                found.push(playbook);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Renders every user-data template with sample values, then `cloud-init schema`.
fn cloud_init_schema(tools: &Tools) -> Result<()> {
    let cloud_init = cmd::ensure_apt("cloud-init", &["cloud-init"])?;
    let out = target_dir().join("xtask-infra/cloud-init");
    if out.exists() {
        fs::remove_dir_all(&out)?;
    }
    let listing = cmd::capture(
        tools
            .command("python")
            .arg(infra_dir().join("tests/render_cloud_init.py"))
            .arg(infra_dir())
            .arg(&out),
    )?;
    let rendered: Vec<&str> = listing.lines().filter(|l| !l.trim().is_empty()).collect();
    ensure!(
        !rendered.is_empty(),
        "no cloud-init user-data found under infra/"
    );
    for file in &rendered {
        cmd::run(
            Command::new(&cloud_init)
                .args(["schema", "--config-file"])
                .arg(file),
        )?;
    }
    eprintln!(
        "infra: {} user-data files pass cloud-init schema",
        rendered.len()
    );
    Ok(())
}

/// The Terraform-output-to-inventory script on a sample, and its refusals.
fn inventory_script() -> Result<()> {
    let script = ansible_dir().join("inventory_from_terraform.py");
    let sample = infra_dir().join("tests/fixtures/proxmox-output.json");
    let run_with = |input: &[u8]| -> Result<std::process::Output> {
        use std::io::Write;
        let mut child = Command::new("python3")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child.stdin.take().context("stdin")?.write_all(input)?;
        Ok(child.wait_with_output()?)
    };
    let good = run_with(&fs::read(&sample)?)?;
    ensure!(
        good.status.success(),
        "inventory_from_terraform.py failed on {}: {}",
        sample.display(),
        String::from_utf8_lossy(&good.stderr)
    );
    let inventory: serde_yaml::Value = serde_yaml::from_slice(&good.stdout)?;
    let children = &inventory["all"]["children"];
    for group in ["loadbalancer", "k3s_server", "k3s_agent", "postgresql"] {
        ensure!(
            children.get(group).is_some(),
            "the inventory has no group {group}"
        );
    }
    let servers = children["k3s_server"]["hosts"]
        .as_mapping()
        .map(|m| m.len())
        .unwrap_or(0);
    ensure!(servers == 3, "expected 3 k3s servers, got {servers}");
    let api = &children["loadbalancer"]["vars"]["loadbalancer_api_servers"];
    ensure!(
        api.as_sequence().map(Vec::len) == Some(3),
        "the load balancer does not list the 3 servers: {api:?}"
    );
    // An even number of etcd members is refused.
    let even = String::from_utf8(fs::read(&sample)?)?.replace(
        r#"{"name": "cp-3", "address": "10.10.0.13"}"#,
        r#"{"name": "cp-3", "address": "10.10.0.13"}, {"name": "cp-4", "address": "10.10.0.19"}"#,
    );
    ensure!(
        even.contains("cp-4"),
        "the sample output no longer lists cp-3 as expected"
    );
    let refused = run_with(even.as_bytes())?;
    ensure!(
        !refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("odd"),
        "four servers were not refused: {}",
        String::from_utf8_lossy(&refused.stderr)
    );
    eprintln!("infra: the inventory script writes 4 groups and refuses an even etcd quorum");
    Ok(())
}

fn molecule(tools: &Tools, image: &str, dir: &Path, args: &[&str]) -> Result<()> {
    cmd::run(
        tools
            .command("molecule")
            .current_dir(dir)
            .env("USERHUB_MOLECULE_IMAGE", image)
            // Several checkouts may share one Docker engine (and one home):
            // container and network names carry a suffix of this checkout's
            // target directory, and molecule's state lives under it.
            .env("USERHUB_MOLECULE_SUFFIX", molecule_suffix(&target_dir()))
            .env("XDG_CACHE_HOME", target_dir().join("xtask-infra/cache"))
            // Each task's duration, and the slowest ones after each playbook.
            .env("ANSIBLE_CALLBACKS_ENABLED", "ansible.posix.profile_tasks")
            .env("PROFILE_TASKS_TASK_OUTPUT_LIMIT", "10")
            .env("MOLECULE_NO_LOG", "false")
            .args(args),
    )
}

/// `-` and 8 hex digits of a hash of `target`: names the molecule containers
/// and networks of one checkout apart from another's on a shared engine.
fn molecule_suffix(target: &Path) -> String {
    format!(
        "-{:08x}",
        fnv1a(target.to_string_lossy().as_bytes()) & 0xffff_ffff
    )
}

/// Builds the Debian 12 base image unless one with the same recipe exists.
fn base_image(work: &Path) -> Result<String> {
    let mirror = debian_mirror();
    let recipe = format!(
        "{IMAGE_RECIPE_VERSION}\n{SUITE}\n{mirror}\n{}\n{}",
        BASE_PACKAGES.join(","),
        IMAGE_CHANGES.join("\n")
    );
    let tag = format!("{IMAGE_REPOSITORY}:{:016x}", fnv1a(recipe.as_bytes()));
    let exists = cmd::output(Command::new("docker").args(["image", "inspect", &tag]))
        .map(|o| o.status.success())
        .unwrap_or(false);
    if exists {
        eprintln!("infra: reusing base image {tag}");
        return Ok(tag);
    }
    timed(
        &format!("base image {tag} (debootstrap {SUITE} from {mirror})"),
        || {
            let debootstrap = cmd::ensure_apt("debootstrap", &["debootstrap"])?;
            let rootfs = work.join("rootfs");
            if rootfs.exists() {
                cmd::run(privileged("rm").arg("-rf").arg(&rootfs))?;
            }
            // dpkg settings of the build, read by every dpkg run inside the
            // rootfs: no fsync per file (the rootfs is thrown away if the build
            // fails) and no manual pages or translations (nothing reads them).
            cmd::run(privileged("sh").arg("-c").arg(
            "mkdir -p \"$1\"/etc/dpkg/dpkg.cfg.d && printf '%s\\n' \
             force-unsafe-io 'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*' \
             'path-exclude=/usr/share/locale/*/LC_MESSAGES/*.mo' > \"$1\"/etc/dpkg/dpkg.cfg.d/01-userhub-build",
        ).arg("sh").arg(&rootfs))?;
            // The downloaded packages outlive the rootfs: a rebuild after a
            // recipe change fetches only what changed.
            let debs = work.join("debs");
            fs::create_dir_all(&debs)?;
            let log_path = work.join("debootstrap.log");
            let log = fs::File::create(&log_path)?;
            eprintln!("infra: debootstrap log: {}", log_path.display());
            let status = privileged(&debootstrap.to_string_lossy())
                .args(["--variant=minbase", "--merged-usr"])
                .arg(format!("--cache-dir={}", debs.display()))
                .arg(format!("--include={}", BASE_PACKAGES.join(",")))
                .arg(SUITE)
                .arg(&rootfs)
                .arg(&mirror)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .status()
                .context("starting debootstrap")?;
            if !status.success() {
                let mut tail = String::new();
                fs::File::open(&log_path)?.read_to_string(&mut tail)?;
                let lines: Vec<&str> = tail.lines().collect();
                bail!(
                    "debootstrap failed ({status}):\n{}",
                    lines[lines.len().saturating_sub(25)..].join("\n")
                );
            }
            // Package caches are dead weight in the image; the image's dpkg
            // goes back to Debian's defaults.
            cmd::run(privileged("sh").arg("-c").arg(
            "rm -rf \"$1\"/var/cache/apt/archives/*.deb \"$1\"/var/lib/apt/lists/* \"$1\"/var/log/*.log \
             \"$1\"/etc/dpkg/dpkg.cfg.d/01-userhub-build",
        ).arg("sh").arg(&rootfs))?;
            let mut tar = privileged("tar")
                .arg("-C")
                .arg(&rootfs)
                .args(["-c", "."])
                .stdout(Stdio::piped())
                .spawn()
                .context("starting tar")?;
            let mut import = Command::new("docker");
            import.arg("import");
            for change in IMAGE_CHANGES {
                import.args(["--change", change]);
            }
            import.args(["-", &tag]);
            let tar_out = tar.stdout.take().context("tar stdout")?;
            let imported = import
                .stdin(tar_out)
                .output()
                .context("starting docker import")?;
            let tar_status = tar.wait()?;
            ensure!(
                tar_status.success(),
                "tar of the rootfs failed: {tar_status}"
            );
            ensure!(
                imported.status.success(),
                "docker import failed: {}",
                String::from_utf8_lossy(&imported.stderr)
            );
            cmd::run(privileged("rm").arg("-rf").arg(&rootfs))?;
            Ok(())
        },
    )?;
    Ok(tag)
}

/// `program` as root: directly when we are root, else through `sudo -n`.
fn privileged(program: &str) -> Command {
    let is_root = cmd::capture(Command::new("id").arg("-u")).is_ok_and(|uid| uid == "0");
    if is_root {
        Command::new(program)
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", program]);
        sudo
    }
}

/// The Debian mirror apt uses on this machine (USERHUB_DEBIAN_MIRROR overrides).
fn debian_mirror() -> String {
    if let Ok(mirror) = std::env::var("USERHUB_DEBIAN_MIRROR")
        && !mirror.is_empty()
    {
        return mirror;
    }
    let mut sources = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        sources.extend(files);
    }
    sources
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .find_map(|text| mirror_in(&text, SUITE))
        .unwrap_or_else(|| DEFAULT_MIRROR.to_owned())
}

/// The URI serving `suite` (not -security/-updates) in a sources.list or
/// deb822 .sources text.
fn mirror_in(text: &str, suite: &str) -> Option<String> {
    // One-line format: deb [options] URI suite components...
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        if words.next() != Some("deb") {
            continue;
        }
        let rest: Vec<&str> = words
            .filter(|w| !w.starts_with('[') && !w.ends_with(']'))
            .collect();
        if let [uri, line_suite, ..] = rest.as_slice()
            && *line_suite == suite
        {
            return Some(uri.trim_end_matches('/').to_owned());
        }
    }
    // deb822 stanzas.
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|line| {
                line.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .map(str::trim)
            })
        };
        let (Some(types), Some(uris), Some(suites)) =
            (field("Types"), field("URIs"), field("Suites"))
        else {
            continue;
        };
        if types.split_whitespace().any(|t| t == "deb")
            && suites.split_whitespace().any(|s| s == suite)
            && let Some(uri) = uris.split_whitespace().next()
        {
            return Some(uri.trim_end_matches('/').to_owned());
        }
    }
    None
}

/// FNV-1a (64 bit): a stable content hash for cache keys.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_mirror_in_deb822_sources() {
        let text = "Types: deb\n# snapshot\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n\
                    Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n";
        assert_eq!(
            mirror_in(text, "bookworm").as_deref(),
            Some("http://mirror.example/debian")
        );
        assert_eq!(mirror_in(text, "trixie"), None);
    }

    #[test]
    fn finds_the_mirror_in_a_one_line_sources_list() {
        let text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] https://deb.example/debian bookworm main\n\
                    deb https://other.example bookworm-security main\n";
        assert_eq!(
            mirror_in(text, "bookworm").as_deref(),
            Some("https://deb.example/debian")
        );
    }

    #[test]
    fn the_cache_key_follows_the_recipe() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a(b"python3,haproxy"), fnv1a(b"python3,nginx"));
    }

    #[test]
    fn molecule_names_differ_per_checkout() {
        let here = molecule_suffix(Path::new("/work/a/target"));
        assert_eq!(here, molecule_suffix(Path::new("/work/a/target")));
        assert_ne!(here, molecule_suffix(Path::new("/work/b/target")));
        assert!(here.starts_with('-') && here.len() == 9, "{here}");
    }

    #[test]
    fn every_molecule_container_and_network_is_named_per_checkout() {
        let ansible = ansible_dir();
        let mut scenarios = vec![ansible.join("molecule/platform/molecule.yml")];
        for role in fs::read_dir(ansible.join("roles")).expect("roles") {
            scenarios.push(
                role.expect("role")
                    .path()
                    .join("molecule/default/molecule.yml"),
            );
        }
        for scenario in scenarios {
            let text = fs::read_to_string(&scenario).expect("molecule.yml");
            let config: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
            let platforms = config["platforms"].as_sequence().expect("platforms");
            for platform in platforms {
                let mut names = vec![&platform["name"]];
                for key in ["docker_networks", "networks"] {
                    if let Some(networks) = platform[key].as_sequence() {
                        names.extend(networks.iter().map(|n| &n["name"]));
                    }
                }
                for name in names {
                    let name = name.as_str().expect("a name");
                    assert!(
                        name.ends_with("${USERHUB_MOLECULE_SUFFIX:--local}"),
                        "{}: {name} is not suffixed per checkout",
                        scenario.display()
                    );
                }
            }
        }
    }

    #[test]
    fn every_role_has_a_molecule_scenario_and_playbooks() {
        let playbooks = playbooks().expect("playbooks");
        assert!(playbooks.iter().any(|p| p.ends_with("site.yml")));
        for role in [
            "common",
            "hardening",
            "loadbalancer",
            "k3s",
            "node_exporter",
            "postgresql",
        ] {
            assert!(
                playbooks
                    .iter()
                    .any(|p| p.ends_with(format!("roles/{role}/molecule/default/converge.yml"))),
                "{role} has no converge playbook"
            );
        }
    }
}
