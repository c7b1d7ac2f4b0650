//! Why a subcommand failed, and so its exit code: 1 runtime failure, 2
//! invalid configuration or usage.

use std::error::Error;
use std::process::ExitCode;

use userhub::StartupError;
use userhub_core::config::ConfigError;
use userhub_telemetry::error_chain;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(ConfigError),
    /// A bad command-line argument.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Startup(StartupError),
    #[error("{context}")]
    Failed {
        context: &'static str,
        #[source]
        source: Box<dyn Error + Send + Sync>,
    },
    #[error("unhealthy: {0}")]
    Unhealthy(String),
}

impl CliError {
    pub fn failed(context: &'static str, source: impl Error + Send + Sync + 'static) -> Self {
        Self::Failed {
            context,
            source: Box::new(source),
        }
    }

    /// Prints (and logs) the failure; returns the exit code.
    pub fn report(&self) -> ExitCode {
        match self {
            Self::Config(_) | Self::Usage(_) => {
                eprintln!("userhub: {self}");
                ExitCode::from(2)
            }
            Self::Unhealthy(_) => {
                eprintln!("{self}");
                ExitCode::FAILURE
            }
            Self::Startup(_) | Self::Failed { .. } => {
                let chain = error_chain(self);
                tracing::error!(error.chain = %chain, "{self}");
                eprintln!("userhub: {chain}");
                ExitCode::FAILURE
            }
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl From<StartupError> for CliError {
    fn from(e: StartupError) -> Self {
        match e {
            StartupError::Config(e) => Self::Config(e),
            other => Self::Startup(other),
        }
    }
}
