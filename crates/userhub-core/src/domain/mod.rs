//! Validated value types and the records built from them.

mod email;
mod page;
mod password;
mod records;
mod text;
mod validation;

pub use email::{Email, canonical as canonical_email};
pub use page::{DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest};
pub use password::Password;
pub use records::{Item, ItemId, ItemPatch, NewItem, NewUser, User, UserId, UserPatch};
pub use text::{Description, FullName, Title};
pub use validation::ValidationError;
