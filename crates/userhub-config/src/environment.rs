//! The deployment environment, parsed from `ENVIRONMENT` (or the
//! reference's `FASTAPI_ENV`) once, when the configuration loads.

/// `development` (local, relaxed) or a deployed environment (strict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    Development,
    Deployed(String),
}

impl Environment {
    /// The variables naming the environment, in precedence order.
    pub const VARS: [&'static str; 2] = ["ENVIRONMENT", "FASTAPI_ENV"];

    /// The environment `ENVIRONMENT` (else `FASTAPI_ENV`) names
    /// (case-insensitive; `development`, `dev` and `local` mean
    /// development), or `default` when neither is set.
    pub(crate) fn from_names(
        environment: Option<&str>,
        fastapi_env: Option<&str>,
        default: Environment,
    ) -> Self {
        match environment.or(fastapi_env) {
            None => default,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "development" | "dev" | "local" => Self::Development,
                other => Self::Deployed(other.to_owned()),
            },
        }
    }

    /// What the production subcommands assume when no environment is named.
    pub fn production() -> Self {
        Self::Deployed("production".to_owned())
    }

    pub fn is_development(&self) -> bool {
        matches!(self, Self::Development)
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Development => "development",
            Self::Deployed(name) => name,
        }
    }
}
