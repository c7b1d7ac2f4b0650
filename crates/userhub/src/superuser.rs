//! The first superuser: created at start from `FIRST_SUPERUSER` and
//! `FIRST_SUPERUSER_PASSWORD` when no user has that email; an existing
//! user's password is never overwritten. In development with nothing
//! configured, `admin@example.com` gets a generated password, printed once.

use rand::Rng;
use rand::distributions::Alphanumeric;
use tracing::info;
use userhub_api::AppState;
use userhub_api::accounts::{self, AccountError, NewAccount};
use userhub_core::config::ExposeSecret;
use userhub_core::security::HashError;
use userhub_core::{Email, User};
use userhub_storage::StorageError;

pub const DEV_SUPERUSER: &str = "admin@example.com";

#[derive(Debug, thiserror::Error)]
pub enum SuperuserError {
    #[error("database error")]
    Storage(#[from] StorageError),
    #[error("hashing error")]
    Hash(#[from] HashError),
    #[error("a user with email {0} already exists")]
    Exists(String),
}

pub async fn ensure_first_superuser(state: &AppState) -> Result<(), SuperuserError> {
    let settings = &state.settings;
    let (email, password, generated) = match (
        &settings.first_superuser,
        &settings.first_superuser_password,
    ) {
        (Some(email), Some(password)) => {
            (email.clone(), password.expose_secret().to_owned(), false)
        }
        (email, None) if settings.environment.is_development() => {
            let email = email
                .clone()
                .unwrap_or_else(|| Email::parse(DEV_SUPERUSER).expect("valid literal"));
            (email, generate_password(), true)
        }
        _ => {
            info!("FIRST_SUPERUSER / FIRST_SUPERUSER_PASSWORD not set: no first superuser created");
            return Ok(());
        }
    };
    if state.db.user_by_email(email.as_str()).await?.is_some() {
        if generated {
            println!(
                "Userhub: log in as {email} (its password was printed when it was created; `userhub create-superuser` makes another)."
            );
        }
        return Ok(());
    }
    match create_superuser(state, email.clone(), &password).await {
        Ok(_) => {}
        // Another replica created it at the same moment.
        Err(SuperuserError::Exists(_)) => return Ok(()),
        Err(e) => return Err(e),
    }
    info!(
        user.email_domain = email.as_str().rsplit('@').next().unwrap_or(""),
        "first superuser created"
    );
    if generated {
        println!(
            "\n  Userhub first start: created superuser\n    email:    {email}\n    password: {password}\n  (shown once; set FIRST_SUPERUSER_PASSWORD to choose it)\n"
        );
    }
    Ok(())
}

/// Creates an active superuser.
pub async fn create_superuser(
    state: &AppState,
    email: Email,
    password: &str,
) -> Result<User, SuperuserError> {
    let account = NewAccount {
        email: email.clone(),
        password,
        full_name: None,
        is_active: true,
        is_superuser: true,
    };
    accounts::create(state, account).await.map_err(|e| match e {
        AccountError::EmailTaken => SuperuserError::Exists(email.into_string()),
        AccountError::Storage(e) => SuperuserError::Storage(e),
        AccountError::Hash(e) => SuperuserError::Hash(e),
    })
}

pub fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}
