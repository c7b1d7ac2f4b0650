//! The OpenAPI 3.1 document: the paths come from the handlers' annotations
//! (through [`routes::contract`], which serves the same routes), with the
//! reference's operation ids so generated clients keep their names.

use userhub_contract::*;
use utoipa::openapi::security::{Flow, OAuth2, Password as PasswordFlow, Scopes, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Userhub", description = "Users and items API, wire-compatible with the full-stack FastAPI template."),
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
    doc.merge(routes::contract(include_private).into_openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}
