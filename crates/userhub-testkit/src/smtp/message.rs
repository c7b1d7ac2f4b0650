//! What the sink captured.

/// One message accepted by the sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedMessage {
    /// Envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// Envelope recipients (`RCPT TO`), without angle brackets.
    pub to: Vec<String>,
    /// The user name given with `AUTH`, if the client authenticated.
    pub auth_user: Option<String>,
    /// The message as sent after `DATA`, dot-unstuffed, without the final `.` line.
    pub data: Vec<u8>,
}

impl CapturedMessage {
    /// The raw message as text (lossy UTF-8).
    pub fn data_str(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}
