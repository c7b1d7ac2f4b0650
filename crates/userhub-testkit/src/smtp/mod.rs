//! An SMTP sink for tests: captures mail sent by the service, or refuses it.
//!
//! Speaks enough SMTP for `lettre` without TLS: greeting, `EHLO`/`HELO`
//! (multi-line `250`), `AUTH PLAIN`/`AUTH LOGIN` (any credentials accepted),
//! `MAIL FROM`, `RCPT TO`, `DATA` with dot-unstuffing, `RSET`, `NOOP`, `QUIT`.
//! Anything else, `STARTTLS` included, gets `502`.

mod message;
mod session;
mod sink;

pub use message::CapturedMessage;
pub use sink::{RejectAt, SmtpSink, SmtpSinkError};
