//! The security audit trail: one structured event per security-relevant
//! action, `target` = `audit`, at INFO. Each carries `action`, `outcome`,
//! `actor_id` (the authenticated user who acted; empty when anonymous),
//! `target_id` (the account acted on; empty when there is none, e.g. a login
//! for an unknown email), `client_address` and, from the request's span,
//! `trace_id` and `request_id`. Never an email, password, token or hash.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use userhub_core::UserId;

use crate::extract::client_ip;
use crate::state::AppState;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Login,
    Lockout,
    PasswordChange,
    PasswordReset,
    UserCreated,
    UserDeleted,
    PrivilegesChanged,
    TokenRevoked,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Lockout => "lockout",
            Self::PasswordChange => "password_change",
            Self::PasswordReset => "password_reset",
            Self::UserCreated => "user_created",
            Self::UserDeleted => "user_deleted",
            Self::PrivilegesChanged => "privileges_changed",
            Self::TokenRevoked => "token_revoked",
        }
    }
}

/// The client's address as rate limiting sees it (trusted proxies applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(
            parts,
            &state.settings.server.trusted_proxies,
        )))
    }
}

/// One audit event.
#[derive(Debug, Clone, Copy)]
pub struct Audit {
    pub action: Action,
    pub outcome: &'static str,
    pub actor: Option<UserId>,
    pub target: Option<UserId>,
    pub client: IpAddr,
    /// A short, fixed reason (`bad_credentials`, `unknown_account`, …).
    pub reason: &'static str,
}

impl Audit {
    pub fn new(action: Action, outcome: &'static str, client: IpAddr) -> Self {
        Self {
            action,
            outcome,
            actor: None,
            target: None,
            client,
            reason: "",
        }
    }

    pub fn actor(mut self, id: UserId) -> Self {
        self.actor = Some(id);
        self
    }

    pub fn target(mut self, id: UserId) -> Self {
        self.target = Some(id);
        self
    }

    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = reason;
        self
    }

    /// Writes the event.
    pub fn emit(self) {
        let id = |v: Option<UserId>| v.map(|u| u.to_string()).unwrap_or_default();
        tracing::info!(
            target: "audit",
            action = self.action.as_str(),
            outcome = self.outcome,
            actor_id = %id(self.actor),
            target_id = %id(self.target),
            client_address = %self.client,
            reason = self.reason,
            "audit"
        );
    }
}
