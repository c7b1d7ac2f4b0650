//! Bounded free-text fields: full names, item titles and descriptions.

use std::fmt;

use serde::Serialize;

use super::validation::{ValidationError, check_len, check_no_nul};

/// The accessors every validated string type has: wrapping a value read
/// back from storage (as stored: it was validated when written, and adopted
/// databases may hold what today's rules would refuse), and reading it.
macro_rules! stored_string {
    ($name:ident) => {
        impl $name {
            /// Wraps a value read back from storage, as stored.
            pub fn from_stored(stored: String) -> Self {
                Self(stored)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }
    };
}
pub(super) use stored_string;

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MIN_LEN: usize = $min;
            pub const MAX_LEN: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                check_len(raw, Self::MIN_LEN, Self::MAX_LEN)?;
                check_no_nul(raw)?;
                Ok(Self(raw.to_owned()))
            }

        }

        stored_string!($name);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

bounded_text!(
    /// A user's display name, at most 255 characters.
    FullName, 0, 255
);
bounded_text!(
    /// An item title: 1 to 255 characters.
    Title, 1, 255
);
bounded_text!(
    /// An item description, at most 255 characters.
    Description, 0, 255
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn title_bounds() {
        assert_eq!(Title::parse("").unwrap_err().kind, "string_too_short");
        assert_eq!(
            Title::parse(&"x".repeat(256)).unwrap_err().kind,
            "string_too_long"
        );
        assert!(Title::parse(&"é".repeat(255)).is_ok());
        assert_eq!(
            Title::parse("a\0b").unwrap_err().kind,
            "string_pattern_mismatch"
        );
    }

    proptest! {
        #[test]
        fn description_accepts_exactly_up_to_255_chars(s in "\\PC{0,300}") {
            prop_assert_eq!(Description::parse(&s).is_ok(), s.chars().count() <= 255 && !s.contains('\0'));
        }
    }
}
