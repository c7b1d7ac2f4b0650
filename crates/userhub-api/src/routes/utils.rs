//! Health check and the test email.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde_json::Value;
use tracing::instrument;
use userhub_contract::{ErrorDetail, HTTPValidationError, Message};
use userhub_core::Email;
use utoipa_axum::routes;

use crate::auth::Superuser;
use crate::email::{MailError, templates};
use crate::error::ApiError;
use crate::extract::ValidationIssue;
use crate::routes::contract_routes::ContractRoutes;
use crate::state::AppState;

pub fn routes() -> ContractRoutes {
    ContractRoutes::default()
        .routes(routes!(test_email))
        .routes(routes!(health_check))
}

fn email_to(parts: &Parts) -> Result<Email, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
    let loc = || vec!["query".into(), "email_to".into()];
    let Some((_, raw)) = pairs.iter().rev().find(|(k, _)| k == "email_to") else {
        return Err(ApiError::Validation(vec![ValidationIssue::missing(
            loc(),
            Value::Null,
        )]));
    };
    Email::parse(raw).map_err(|e| {
        ApiError::Validation(vec![ValidationIssue::from_domain(
            e,
            loc(),
            Value::String(raw.clone()),
        )])
    })
}

/// Test emails.
#[utoipa::path(post, path = "/api/v1/utils/test-email/", tag = "utils", operation_id = "utils-test_email",
    params(("email_to" = String, Query, format = Email)),
    responses((status = 201, body = Message), (status = 422, body = HTTPValidationError), (status = 502, body = ErrorDetail), (status = 503, body = ErrorDetail)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn test_email(
    _admin: Superuser,
    State(state): State<AppState>,
    parts: Parts,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let to = email_to(&parts)?;
    let content = templates::test_email(state.mailer.project_name(), to.as_str());
    match state.mailer.send("test", to.as_str(), content).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(Message::new("Test email sent")))),
        Err(MailError::Disabled) => Err(ApiError::detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "Email is not configured",
        )),
        Err(_) => Err(ApiError::detail(
            StatusCode::BAD_GATEWAY,
            "Email could not be sent",
        )),
    }
}

/// Health check.
#[utoipa::path(get, path = "/api/v1/utils/health-check/", tag = "utils", operation_id = "utils-health_check",
    responses((status = 200, body = bool, content_type = "application/json")))]
pub async fn health_check() -> Json<bool> {
    Json(true)
}
