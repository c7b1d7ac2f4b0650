//! The contract's routes, each served and documented from one declaration.

use std::collections::btree_map::Entry;
use std::fmt;

use axum::Router;
use axum::routing::MethodRouter;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::UtoipaMethodRouter;

use crate::state::AppState;

/// Routes with their OpenAPI paths, as `utoipa_axum`'s `OpenApiRouter`
/// collects them, except that a path the reference writes with a trailing
/// slash (`/api/v1/users/`) is served without it: requests are matched with
/// trailing slashes trimmed (and the web UI calls without them).
#[derive(Default)]
pub struct ContractRoutes {
    router: Router<AppState>,
    openapi: OpenApi,
}

impl fmt::Debug for ContractRoutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<&String> = self.openapi.paths.paths.keys().collect();
        f.debug_struct("ContractRoutes")
            .field("paths", &paths)
            .finish_non_exhaustive()
    }
}

impl ContractRoutes {
    /// Handlers sharing one path, from `utoipa_axum::routes!`.
    pub fn routes(mut self, (schemas, paths, handlers): UtoipaMethodRouter<AppState>) -> Self {
        for (path, item) in paths.paths {
            let route = path.trim_end_matches('/');
            self.router = self.router.route(route, handlers.clone());
            match self.openapi.paths.paths.entry(path) {
                Entry::Occupied(mut known) => known.get_mut().merge_operations(item),
                Entry::Vacant(new) => {
                    new.insert(item);
                }
            }
        }
        let components = self.openapi.components.get_or_insert_with(Default::default);
        components.schemas.extend(schemas);
        self
    }

    /// A route of Userhub's own, outside the reference's document.
    pub fn undocumented(mut self, path: &str, handlers: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, handlers);
        self
    }

    pub fn merge(mut self, other: Self) -> Self {
        self.router = self.router.merge(other.router);
        self.openapi.merge(other.openapi);
        self
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }

    pub fn into_openapi(self) -> OpenApi {
        self.openapi
    }
}
