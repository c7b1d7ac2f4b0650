//! Why the application could not start or stopped serving.

use std::net::SocketAddr;

use userhub_core::config::ConfigError;
use userhub_storage::StorageError;
use userhub_telemetry::TelemetryError;

use crate::superuser::SuperuserError;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Invalid configuration: nothing was started.
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot set up telemetry")]
    Telemetry(#[source] TelemetryError),
    #[error("cannot listen on {0}")]
    Listen(SocketAddr, #[source] std::io::Error),
    #[error("cannot listen on {0} (admin)")]
    ListenAdmin(SocketAddr, #[source] std::io::Error),
    #[error("cannot start the admin listener")]
    Admin(#[source] std::io::Error),
    #[error("cannot open the database")]
    Database(#[source] StorageError),
    #[error("cannot migrate the database")]
    Migrate(#[source] StorageError),
    #[error("cannot create the first superuser")]
    Superuser(#[source] SuperuserError),
    #[error("server error")]
    Serve(#[source] std::io::Error),
}
