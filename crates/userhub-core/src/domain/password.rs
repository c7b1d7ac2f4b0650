//! Plain-text passwords as they arrive: 8 to 128 characters, never printed.

use std::fmt;

use super::validation::{ValidationError, check_len};

pub const PASSWORD_MIN_LEN: usize = 8;
pub const PASSWORD_MAX_LEN: usize = 128;

/// A plain password that passed the length rules. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        check_len(raw, PASSWORD_MIN_LEN, PASSWORD_MAX_LEN)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn debug_is_redacted() {
        let p = Password::parse("hunter2hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    proptest! {
        #[test]
        fn length_rule_counts_characters(s in "\\PC{0,200}") {
            let n = s.chars().count();
            prop_assert_eq!(Password::parse(&s).is_ok(), (8..=128).contains(&n));
        }
    }
}
