//! One router per feature, merged by [`crate::router`]. Each route of the
//! contract is declared once, by its handler's `#[utoipa::path]`: the
//! handlers are collected with [`utoipa_axum::routes!`] into [`ContractRoutes`],
//! which both serves them and lists them in the OpenAPI document.

pub mod contract_routes;
pub mod items;
pub mod login;
pub mod ops;
pub mod private;
pub mod users;
pub mod utils;

use contract_routes::ContractRoutes;

/// The contract's routes (`private`: with the development-only ones).
pub fn contract(private: bool) -> ContractRoutes {
    let contract = login::routes()
        .merge(users::routes())
        .merge(items::routes())
        .merge(utils::routes());
    if private {
        contract.merge(private::routes())
    } else {
        contract
    }
}
