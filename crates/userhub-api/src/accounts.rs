//! Creating and deleting accounts: the one place that refuses a taken
//! email, hashes the new password, inserts the user (a lost race on the
//! unique email is the same refusal) and deletes a user with their items.
//! Used by signup, `POST /users/` and `/private/users/`, and by the binary
//! for the first superuser.

use userhub_core::security::HashError;
use userhub_core::{Email, FullName, NewUser, Password, User, UserId};
use userhub_storage::{Constraint, StorageError};

use crate::error::ApiError;
use crate::state::AppState;

/// An account about to be created.
#[derive(Debug)]
pub struct NewAccount<'a> {
    pub email: Email,
    pub password: &'a str,
    pub full_name: Option<FullName>,
    pub is_active: bool,
    pub is_superuser: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("database error")]
    Storage(#[from] StorageError),
    #[error("hashing error")]
    Hash(#[from] HashError),
}

/// Creates the account unless its email is taken.
pub async fn create(state: &AppState, account: NewAccount<'_>) -> Result<User, AccountError> {
    if state
        .db
        .user_by_email(account.email.as_str())
        .await?
        .is_some()
    {
        return Err(AccountError::EmailTaken);
    }
    let hashed_password = state.hasher.hash(account.password).await?;
    let new = NewUser {
        email: account.email,
        is_active: account.is_active,
        is_superuser: account.is_superuser,
        full_name: account.full_name,
        hashed_password,
    };
    match state.db.insert_user(new).await {
        Ok(user) => Ok(user),
        Err(StorageError::Conflict(Constraint::UserEmail)) => Err(AccountError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// [`create`] for a request to the API: counted as a registration; a
/// taken email is answered 400 with `taken` (the reference words it
/// differently per route).
pub(crate) async fn add(
    state: &AppState,
    account: NewAccount<'_>,
    taken: &'static str,
) -> Result<User, ApiError> {
    let user = create(state, account).await.map_err(|e| match e {
        AccountError::EmailTaken => ApiError::bad_request(taken),
        AccountError::Storage(e) => e.into(),
        AccountError::Hash(e) => e.into(),
    })?;
    state.metrics.record_user_registered();
    Ok(user)
}

/// Self-service registration (signup, and the development-only private
/// route): an active, non-superuser account.
pub(crate) async fn sign_up(
    state: &AppState,
    email: Email,
    password: &Password,
    full_name: Option<FullName>,
) -> Result<User, ApiError> {
    let account = NewAccount {
        email,
        password: password.expose(),
        full_name,
        is_active: true,
        is_superuser: false,
    };
    let taken = "The user with this email already exists in the system";
    add(state, account, taken).await
}

/// Deletes the user and (by cascade) their items, counting the items.
pub(crate) async fn delete(state: &AppState, id: UserId) -> Result<(), ApiError> {
    let items = state.db.count_items_of(id).await?;
    if state.db.delete_user(id).await? {
        state.metrics.record_items_deleted(items.max(0) as u64);
    }
    Ok(())
}
