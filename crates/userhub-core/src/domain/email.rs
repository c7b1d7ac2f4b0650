//! Email addresses: syntactically valid, at most 255 characters, stored and
//! compared lowercased.

use std::fmt;

use serde::Serialize;

use super::validation::{ValidationError, check_len};

pub const EMAIL_MAX_LEN: usize = 255;

/// A validated, lowercased email address.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Validates `raw` and lowercases it.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        check_len(raw, 0, EMAIL_MAX_LEN)?;
        let trimmed = raw.trim();
        if let Err(reason) = check_syntax(trimmed) {
            return Err(ValidationError {
                kind: "value_error",
                msg: format!("value is not a valid email address: {reason}"),
                ctx: serde_json::json!({ "reason": reason }),
            });
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    /// Wraps an address read back from storage, as stored (adopted databases
    /// may hold mixed case).
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

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Emails are personal data: keep them out of debug logs.
        f.write_str("Email(<redacted>)")
    }
}

fn check_syntax(s: &str) -> Result<(), &'static str> {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Err("An email address must have an @-sign.");
    };
    if local.is_empty() {
        return Err("There must be something before the @-sign.");
    }
    if domain.is_empty() {
        return Err("There must be something after the @-sign.");
    }
    if local.chars().count() > 64 {
        return Err("The email address is too long before the @-sign.");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The email address contains invalid characters.");
    }
    if !email_address::EmailAddress::is_valid(s) {
        return Err("The email address is not valid.");
    }
    if !domain.contains('.') {
        return Err("The part after the @-sign is not valid. It should have a period.");
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err("An email address cannot have two periods in a row.");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("The part after the @-sign is not valid.");
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err("The part after the @-sign contains invalid characters.");
        }
    }
    if domain
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("The part after the @-sign is not valid.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lowercases_whole_address_and_trims_surrounding_space() {
        assert_eq!(
            Email::parse("Alice@Example.COM").unwrap().as_str(),
            "alice@example.com"
        );
        assert_eq!(
            Email::parse(" bob@example.com\n").unwrap().as_str(),
            "bob@example.com"
        );
    }

    #[test]
    fn rejects_common_mistakes() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a@example..com",
            "a@-example.com",
            "a\n@example.com",
            "a@127.0.0.1",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.kind, "value_error", "{bad:?}");
        }
    }

    #[test]
    fn rejects_over_255_chars() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long).unwrap_err().kind, "string_too_long");
    }

    #[test]
    fn accepts_plus_and_unicode_domain() {
        assert!(Email::parse("first.last+tag@example.co.uk").is_ok());
        assert!(Email::parse("user@bücher.de").is_ok());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_result_is_lowercase(s in "\\PC{0,300}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(e.as_str(), e.as_str().to_lowercase());
                prop_assert!(e.as_str().contains('@'));
            }
        }

        #[test]
        fn simple_addresses_roundtrip(local in "[a-z0-9]{1,20}", dom in "[a-z]{1,20}", tld in "[a-z]{2,6}") {
            let raw = format!("{local}@{dom}.{tld}");
            let parsed = Email::parse(&raw.to_uppercase()).unwrap();
            prop_assert_eq!(parsed.as_str(), raw.as_str());
        }
    }
}
