//! Why the application could not start or stopped serving.

use userhub_core::config::ConfigError;
use userhub_storage::StorageError;

use crate::superuser::SuperuserError;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database")]
    Database(#[source] StorageError),
    #[error("cannot migrate the database")]
    Migrate(#[source] StorageError),
    #[error("cannot create the first superuser")]
    Superuser(#[source] SuperuserError),
    #[error("server error")]
    Serve(#[source] std::io::Error),
    #[error("invalid web UI configuration")]
    Web(#[source] ConfigError),
}
