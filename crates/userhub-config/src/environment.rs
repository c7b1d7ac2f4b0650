//! The deployment environment, parsed from `ENVIRONMENT` (or the
//! reference's `FASTAPI_ENV`) in this one place.

use crate::ConfigSource;

/// `development` (local, relaxed) or a deployed environment (strict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    Development,
    Deployed(String),
}

impl Environment {
    /// The variables naming the environment, in precedence order.
    pub const VARS: [&'static str; 2] = ["ENVIRONMENT", "FASTAPI_ENV"];

    /// The environment `src` names (case-insensitive; `development`, `dev`
    /// and `local` mean development), or `default` when it names none.
    pub fn from_source(src: &ConfigSource, default: Environment) -> Self {
        match src.raw_any(&Self::VARS) {
            None => default,
            Some((_, v)) => match v.trim().to_ascii_lowercase().as_str() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_variable_in_any_case_names_the_environment() {
        let parse = |pairs: &[(&str, &str)]| {
            Environment::from_source(
                &ConfigSource::from_pairs(pairs.iter().copied()),
                Environment::production(),
            )
        };
        assert_eq!(parse(&[]), Environment::production());
        assert_eq!(parse(&[("ENVIRONMENT", "Local")]), Environment::Development);
        assert_eq!(parse(&[("FASTAPI_ENV", " DEV ")]), Environment::Development);
        assert_eq!(
            parse(&[("ENVIRONMENT", "Staging"), ("FASTAPI_ENV", "dev")]),
            Environment::Deployed("staging".to_owned())
        );
    }
}
