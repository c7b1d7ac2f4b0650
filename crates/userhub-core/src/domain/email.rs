//! Email addresses: syntactically valid, at most 255 characters, stored
//! lowercased, and compared through one canonical form (see [`canonical`]).

use std::fmt;

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;

use super::text::stored_string;
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
        if let Err(reason) = check_syntax(trimmed).and_then(|()| check_single_script(trimmed)) {
            return Err(ValidationError {
                kind: "value_error",
                msg: format!("value is not a valid email address: {reason}"),
                ctx: serde_json::json!({ "reason": reason }),
            });
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    /// The canonical form of this address (see [`canonical`]).
    pub fn canonical(&self) -> String {
        canonical(&self.0)
    }
}

// Adopted databases may hold mixed-case addresses: read back as stored.
stored_string!(Email);

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

/// The one canonical form of an email address: surrounding whitespace
/// trimmed, Unicode NFKC, then full Unicode lowercase, then NFKC again (a
/// lowercase mapping can denormalise). Computed in Rust only, never by SQL
/// `lower()` (ASCII-only on SQLite, collation-dependent on PostgreSQL), it
/// is the key of every lookup, of the uniqueness rule and of every
/// rate-limit and throttle key, identically on both databases.
pub fn canonical(raw: &str) -> String {
    let folded: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    folded.nfkc().collect()
}

/// Refuses addresses whose local part, or any label of whose domain, mixes
/// scripts (a Cyrillic `а` among Latin letters): two such addresses could
/// look identical. Digits, punctuation and combining marks belong to every
/// script; Han with Hiragana/Katakana or Hangul counts as one script.
fn check_single_script(s: &str) -> Result<(), &'static str> {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Ok(());
    };
    let single = |part: &str| part.nfkc().collect::<String>().as_str().is_single_script();
    if !single(local) || !domain.split('.').all(single) {
        return Err("The email address mixes characters of different scripts.");
    }
    Ok(())
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

    #[test]
    fn canonical_form_folds_unicode_case_and_compatibility_forms() {
        assert_eq!(canonical(" JOSÉ@Example.COM "), "josé@example.com");
        // Decomposed é and the precomposed one are the same address.
        assert_eq!(
            canonical("jose\u{301}@example.com"),
            canonical("josé@example.com")
        );
        // Full-width letters fold to ASCII.
        assert_eq!(canonical("ＡＢＣ@example.com"), "abc@example.com");
        // Dotted capital I lowercases to i + combining dot: not `victim`.
        assert_ne!(
            canonical("vİctim@example.com"),
            canonical("victim@example.com")
        );
        assert_eq!(
            canonical("vİctim@example.com"),
            canonical(&canonical("vİctim@example.com"))
        );
        let e = Email::parse("Straße@Example.com").unwrap();
        assert_eq!(e.canonical(), "straße@example.com");
    }

    #[test]
    fn mixed_script_addresses_are_refused() {
        for bad in [
            "c\u{430}sey@example.com",
            "casey@ex\u{430}mple.com",
            "p\u{430}ypal@example.com",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.kind, "value_error", "{bad}");
            assert!(err.msg.contains("scripts"), "{}", err.msg);
        }
        for good in [
            "casey@example.com",
            "\u{430}\u{43d}\u{43d}\u{430}@example.com",
            "user@b\u{fc}cher.de",
            "\u{5c71}\u{7530}\u{305f}\u{308d}\u{3046}@example.jp",
            "first.last+tag-1@example.co.uk",
        ] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
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
