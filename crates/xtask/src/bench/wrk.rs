//! The load generator: `wrk` (Debian package), driven by a generated Lua
//! script whose `done` hook prints exact percentiles and error counts as JSON.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// One request shape, replayed on every connection.
#[derive(Debug, Clone)]
pub struct Load {
    pub name: String,
    pub url: String,
    pub method: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub connections: u32,
}

/// What `wrk` measured over one run.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct WrkResult {
    pub requests: u64,
    pub duration_us: f64,
    pub status_errors: u64,
    pub connect_errors: u64,
    pub read_errors: u64,
    pub write_errors: u64,
    pub timeouts: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

impl WrkResult {
    pub fn rps(&self) -> f64 {
        if self.duration_us <= 0.0 {
            return 0.0;
        }
        self.requests as f64 / (self.duration_us / 1e6)
    }

    /// Non-2xx/3xx responses plus socket errors and timeouts.
    pub fn errors(&self) -> u64 {
        self.status_errors
            + self.connect_errors
            + self.read_errors
            + self.write_errors
            + self.timeouts
    }
}

/// Make sure `wrk` is on PATH, installing the Debian package when root.
pub fn ensure_installed() -> Result<()> {
    if has_wrk() {
        return Ok(());
    }
    println!("bench: wrk not found; installing it with apt-get");
    // apt-get as root, or through `sudo -n` for a non-root user.
    crate::delivery::cmd::ensure_apt("wrk", &["wrk"])
        .context("apt-get install wrk (the benchmark's load generator)")?;
    if !has_wrk() {
        bail!("wrk is still not on PATH after installing it");
    }
    Ok(())
}

fn has_wrk() -> bool {
    Command::new("wrk")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// `wrk -v`'s first line.
pub fn version() -> String {
    Command::new("wrk")
        .arg("-v")
        .output()
        .map(|out| {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let first = text.lines().next().unwrap_or("wrk");
            first
                .split(" Copyright")
                .next()
                .unwrap_or(first)
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|_| "wrk (unknown version)".into())
}

/// A started `wrk` process.
#[derive(Debug)]
pub struct Running {
    name: String,
    child: Child,
}

/// Start `wrk` for `load` over `duration`; `dir` receives the Lua script.
pub fn spawn(load: &Load, duration: Duration, dir: &Path) -> Result<Running> {
    let script = dir.join(format!("{}.lua", load.name));
    std::fs::write(&script, lua(load)).with_context(|| format!("writing {}", script.display()))?;
    let threads = load.connections.clamp(1, 2);
    let child = Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .args(["--timeout", "10s", "-s"])
        .arg(&script)
        .arg(&load.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawning wrk")?;
    Ok(Running {
        name: load.name.clone(),
        child,
    })
}

impl Running {
    /// Wait for `wrk` to finish and parse its result.
    pub fn wait(self) -> Result<WrkResult> {
        let output = self
            .child
            .wait_with_output()
            .with_context(|| format!("waiting for wrk ({})", self.name))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!(
                "wrk ({}) failed: {}\n{stdout}{}",
                self.name,
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let json = stdout
            .lines()
            .find_map(|line| line.strip_prefix("WRKJSON "))
            .with_context(|| format!("wrk ({}) printed no result line:\n{stdout}", self.name))?;
        serde_json::from_str(json).with_context(|| format!("parsing wrk result `{json}`"))
    }
}

/// Run `load` once for `duration` and wait for the result.
pub fn run(load: &Load, duration: Duration, dir: &Path) -> Result<WrkResult> {
    spawn(load, duration, dir)?.wait()
}

fn lua(load: &Load) -> String {
    let mut script = format!("wrk.method = \"{}\"\n", load.method);
    for (name, value) in &load.headers {
        script.push_str(&format!("wrk.headers[\"{name}\"] = [==[{value}]==]\n"));
    }
    if let Some(body) = &load.body {
        script.push_str(&format!("wrk.body = [==[{body}]==]\n"));
    }
    script.push_str(
        r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%.0f,"duration_us":%.0f,"status_errors":%.0f,"connect_errors":%.0f,"read_errors":%.0f,"write_errors":%.0f,"timeouts":%.0f,"p50_us":%.0f,"p99_us":%.0f,"max_us":%.0f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"#,
    );
    script
}
