//! User settings (profile, password, appearance, account deletion) and the
//! theme switch.

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use http::header::{LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;

use super::form::{if_confirmed, submit, submit_as};
use super::{Authed, Visit, WebError};
use crate::cookie::{Flash, FlashKind, THEME_COOKIE};
use crate::state::WebState;
use crate::views::{ConfirmPage, SettingsPage, SettingsTab, Theme, render};

fn page(authed: &Authed, tab: SettingsTab, error: Option<String>) -> SettingsPage {
    SettingsPage {
        ctx: authed.ctx("User settings", "settings"),
        tab,
        full_name: authed.user.full_name.clone().unwrap_or_default(),
        email: authed.user.email.clone(),
        error,
    }
}

pub async fn profile_page(authed: Authed) -> Response {
    render(StatusCode::OK, &page(&authed, SettingsTab::Profile, None))
}

pub async fn password_page(authed: Authed) -> Response {
    render(StatusCode::OK, &page(&authed, SettingsTab::Password, None))
}

pub async fn appearance_page(authed: Authed) -> Response {
    render(
        StatusCode::OK,
        &page(&authed, SettingsTab::Appearance, None),
    )
}

pub async fn danger_page(authed: Authed) -> Response {
    render(StatusCode::OK, &page(&authed, SettingsTab::Danger, None))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    full_name: String,
    email: String,
}

pub async fn update_profile(
    State(state): State<WebState>,
    authed: Authed,
    Form(form): Form<ProfileForm>,
) -> Result<Response, WebError> {
    submit(
        state
            .api
            .update_me(authed.caller(), &form.full_name, form.email.trim()),
        |_| authed.done("/settings", "User updated successfully."),
        |error| SettingsPage {
            full_name: form.full_name.clone(),
            email: form.email.clone(),
            ..page(&authed, SettingsTab::Profile, Some(error))
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

pub async fn update_password(
    State(state): State<WebState>,
    authed: Authed,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    submit(
        if_confirmed(
            &form.new_password,
            &form.confirm_password,
            state
                .api
                .update_password(authed.caller(), &form.current_password, &form.new_password),
        ),
        |message| authed.done("/settings/password", &message.message),
        |error| page(&authed, SettingsTab::Password, Some(error)),
    )
    .await
}

fn delete_confirm(authed: &Authed, error: Option<String>) -> ConfirmPage {
    ConfirmPage {
        ctx: authed.ctx("Delete account", "settings"),
        heading: "Delete account".to_owned(),
        message: "Your account and all your items will be permanently deleted. Are you sure?"
            .to_owned(),
        action: "/settings/delete-account".to_owned(),
        submit: "Delete my account",
        cancel: "/settings/danger".to_owned(),
        error,
    }
}

pub async fn delete_account_page(authed: Authed) -> Response {
    render(StatusCode::OK, &delete_confirm(&authed, None))
}

pub async fn delete_account(
    State(state): State<WebState>,
    authed: Authed,
) -> Result<Response, WebError> {
    submit_as(
        StatusCode::FORBIDDEN,
        state.api.delete_me(authed.caller()),
        |_| {
            authed.visit.session.log_out(Some(Flash {
                kind: FlashKind::Success,
                text: "Your account has been deleted.".to_owned(),
            }));
            Redirect::to("/login").into_response()
        },
        |error| delete_confirm(&authed, Some(error)),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AppearanceForm {
    theme: String,
    back: String,
}

/// `POST /appearance`: stores the theme in a cookie and goes back.
pub async fn set_theme(
    State(state): State<WebState>,
    visit: Visit,
    headers: HeaderMap,
    Form(form): Form<AppearanceForm>,
) -> Response {
    let Some(theme) = Theme::parse(&form.theme) else {
        return crate::error_page::render(
            StatusCode::BAD_REQUEST,
            "Unknown theme",
            "Choose system, light or dark.",
        );
    };
    let back = local_path(&form.back);
    if back == "/settings/appearance" {
        visit
            .session
            .set_flash(FlashKind::Success, "Appearance updated.");
    }
    let cookie = format!(
        "{THEME_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
        theme.as_str(),
        if state.cookie_secure(&headers) {
            "; Secure"
        } else {
            ""
        }
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(back) {
        headers.insert(LOCATION, location);
    }
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        headers.append(SET_COOKIE, cookie);
    }
    response
}

/// `back` if it is a path on this site, else `/` (no open redirect).
fn local_path(back: &str) -> &str {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && !back.contains('\\')
        && back.bytes().all(|b| b.is_ascii_graphic());
    if ok { back } else { "/" }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(local_path("/items?page=2"), "/items?page=2");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "",
            "items",
            "/a b",
        ] {
            assert_eq!(local_path(bad), "/", "{bad}");
        }
    }
}
