//! A string that must never be printed: `secrecy`'s `SecretString`. Its
//! `Debug` redacts, it has no `Display` and no `Serialize`, it is wiped from
//! memory when dropped, and reading it takes an explicit
//! [`ExposeSecret::expose_secret`].

pub use secrecy::{ExposeSecret, SecretString as Secret};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::from("hunter2");
        assert!(!format!("{s:?} {s:#?}").contains("hunter2"));
        assert_eq!(s.expose_secret(), "hunter2");
    }
}
