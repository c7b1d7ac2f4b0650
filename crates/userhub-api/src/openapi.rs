//! The OpenAPI 3.1 document, generated from the handlers' annotations, with
//! the reference's operation ids so generated clients keep their names.

use utoipa::openapi::security::{Flow, OAuth2, Password as PasswordFlow, Scopes, SecurityScheme};
use userhub_contract::*;
use utoipa::{Modify, OpenApi};

use crate::routes::{items, login, private, users, utils};

#[derive(OpenApi)]
#[openapi(
    info(title = "Userhub", description = "Users and items API, wire-compatible with the full-stack FastAPI template."),
    paths(
        login::login_access_token, login::test_token, login::recover_password, login::reset_password, login::recover_password_html_content,
        users::read_users, users::create_user, users::read_user_me, users::update_user_me, users::update_password_me, users::delete_user_me,
        users::register_user, users::read_user_by_id, users::update_user, users::delete_user,
        utils::test_email, utils::health_check,
        items::read_items, items::create_item, items::read_item, items::update_item, items::delete_item,
        private::create_user,
    ),
    components(schemas(
        UserPublic, UsersPublic, ItemPublic, ItemsPublic, Message, Token, ErrorDetail, HTTPValidationError, ValidationErrorEntry,
        BodyLoginLoginAccessToken, UserCreate, UserRegister, UserUpdate, UserUpdateMe, UpdatePassword, NewPassword, ItemCreate, ItemUpdate,
        PrivateUserCreate,
    )),
    modifiers(&OAuth2PasswordBearer),
    tags((name = "login"), (name = "users"), (name = "utils"), (name = "items"), (name = "private"))
)]
struct ApiDoc;

struct OAuth2PasswordBearer;

impl Modify for OAuth2PasswordBearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "OAuth2PasswordBearer",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(PasswordFlow::new(
                "/api/v1/login/access-token",
                Scopes::new(),
            ))])),
        );
    }
}

/// The document; the development-only routes appear only in development.
pub fn document(include_private: bool) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    if !include_private {
        doc.paths
            .paths
            .retain(|path, _| !path.starts_with("/api/v1/private"));
    }
    doc
}
