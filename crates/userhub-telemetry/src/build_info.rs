//! The `userhub_build_info` gauge: version, git commit and compiler.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// What this binary was built from (set by the crate's build script).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildInfo {
    pub version: &'static str,
    pub git_commit: &'static str,
    pub rustc: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    git_commit: &'static str,
    rustc: &'static str,
}

impl BuildInfo {
    pub fn current() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION"),
            git_commit: env!("USERHUB_GIT_COMMIT"),
            rustc: env!("USERHUB_RUSTC_VERSION"),
        }
    }

    pub(crate) fn register(self, registry: &mut Registry) {
        let family = Family::<BuildLabels, Gauge>::default();
        family
            .get_or_create(&BuildLabels {
                version: self.version,
                git_commit: self.git_commit,
                rustc: self.rustc,
            })
            .set(1);
        registry.register(
            "userhub_build_info",
            "Always 1; labels say which build is running",
            family,
        );
    }
}
