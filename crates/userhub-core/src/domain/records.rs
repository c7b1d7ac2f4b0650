//! Users and items as the service knows them, and the changes it applies.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Description, Email, FullName, Title};

/// A record identifier: a UUID that cannot be mistaken for another
/// record's (a `UserId` is not an `ItemId`).
macro_rules! record_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) identifier.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            pub const fn as_uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

record_id!(
    /// Identifies a user.
    UserId
);
record_id!(
    /// Identifies an item.
    ItemId
);

/// A stored user, including the password hash (never serialised to clients).
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub is_active: bool,
    pub is_superuser: bool,
    pub full_name: Option<FullName>,
    pub hashed_password: String,
    pub created_at: Option<DateTime<Utc>>,
    /// When the password last changed (Unix microseconds); access tokens
    /// issued before it are revoked, except [`User::token_exempt`].
    pub password_changed_at_micros: Option<i64>,
    /// When the email last changed (Unix microseconds); reset tokens issued
    /// before it are void.
    pub email_changed_at_micros: Option<i64>,
    /// Fingerprint of the access token that made the last password change
    /// and survives it.
    pub token_exempt: Option<String>,
}

/// A stored item.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: ItemId,
    pub title: Title,
    pub description: Option<Description>,
    pub owner_id: UserId,
    pub created_at: Option<DateTime<Utc>>,
}

/// A user about to be inserted; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub is_active: bool,
    pub is_superuser: bool,
    pub full_name: Option<FullName>,
    pub hashed_password: String,
}

/// Fields to change on a user; `None` leaves a field as it is.
/// `full_name: Some(None)` clears the name.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub is_active: Option<bool>,
    pub is_superuser: Option<bool>,
    pub full_name: Option<Option<FullName>>,
    pub hashed_password: Option<String>,
    /// With `hashed_password`: the password was changed (not merely
    /// re-hashed), so earlier tokens are revoked, except the access token
    /// with this fingerprint when it is `Some(Some(..))`.
    pub password_changed: Option<Option<String>>,
}

/// An item about to be inserted.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub title: Title,
    pub description: Option<Description>,
    pub owner_id: UserId,
}

/// Fields to change on an item; `description: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ItemPatch {
    pub title: Option<Title>,
    pub description: Option<Option<Description>>,
}

impl User {
    /// Whether this user may read or change `item`.
    pub fn can_access(&self, item: &Item) -> bool {
        self.is_superuser || item.owner_id == self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(is_superuser: bool) -> User {
        User {
            id: UserId::random(),
            email: Email::parse("a@example.com").unwrap(),
            is_active: true,
            is_superuser,
            full_name: None,
            hashed_password: String::new(),
            created_at: None,
            password_changed_at_micros: None,
            email_changed_at_micros: None,
            token_exempt: None,
        }
    }

    fn item(owner: UserId) -> Item {
        Item {
            id: ItemId::random(),
            title: Title::parse("t").unwrap(),
            description: None,
            owner_id: owner,
            created_at: None,
        }
    }

    #[test]
    fn owners_and_superusers_access_items() {
        let owner = user(false);
        let other = user(false);
        let admin = user(true);
        let it = item(owner.id);
        assert!(owner.can_access(&it));
        assert!(!other.can_access(&it));
        assert!(admin.can_access(&it));
    }
}
