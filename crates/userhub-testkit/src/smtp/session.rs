//! One SMTP conversation.

use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Notify;

use super::{CapturedMessage, RejectAt};

/// Longest command line accepted (RFC 5321 says 512; be generous).
const MAX_LINE: usize = 4096;
/// Largest message accepted.
const MAX_DATA: usize = 16 * 1024 * 1024;

/// State shared by the sink and its sessions.
#[derive(Debug)]
pub struct Shared {
    pub reject: Option<RejectAt>,
    pub messages: Mutex<Vec<CapturedMessage>>,
    pub arrived: Notify,
}

impl Shared {
    pub fn snapshot(&self) -> Vec<CapturedMessage> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn push(&self, message: CapturedMessage) {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(message);
        self.arrived.notify_waiters();
    }
}

enum Line {
    Text(String),
    Closed,
}

pub struct Session {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    shared: Arc<Shared>,
    from: Option<String>,
    to: Vec<String>,
    auth_user: Option<String>,
}

impl Session {
    pub fn new(stream: TcpStream, shared: Arc<Shared>) -> Self {
        let (read, writer) = stream.into_split();
        Self {
            reader: BufReader::new(read),
            writer,
            shared,
            from: None,
            to: Vec::new(),
            auth_user: None,
        }
    }

    pub async fn run(mut self) {
        if let Err(error) = self.converse().await {
            tracing::debug!(%error, "SMTP sink session ended with an error");
        }
    }

    async fn converse(&mut self) -> std::io::Result<()> {
        self.reply("220 userhub-testkit SMTP sink ready").await?;
        loop {
            let Line::Text(line) = self.read_line().await? else {
                return Ok(());
            };
            let (verb, arg) = match line.split_once(' ') {
                Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim().to_owned()),
                None => (line.to_ascii_uppercase(), String::new()),
            };
            match verb.as_str() {
                "EHLO" => {
                    self.reset();
                    self.reply("250-userhub-testkit greets you\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 16777216")
                        .await?;
                }
                "HELO" => {
                    self.reset();
                    self.reply("250 userhub-testkit").await?;
                }
                "AUTH" => self.auth(&arg).await?,
                "MAIL" => match path_arg(&arg, "FROM:") {
                    Some(from) => {
                        self.reset();
                        self.from = Some(from);
                        self.reply("250 OK").await?;
                    }
                    None => self.reply("501 Syntax: MAIL FROM:<address>").await?,
                },
                "RCPT" => match (path_arg(&arg, "TO:"), &self.from) {
                    (_, None) => self.reply("503 MAIL first").await?,
                    (None, _) => self.reply("501 Syntax: RCPT TO:<address>").await?,
                    (Some(_), _) if self.shared.reject == Some(RejectAt::Rcpt) => {
                        self.reply("550 mailbox unavailable (test sink rejects recipients)")
                            .await?;
                    }
                    (Some(to), _) => {
                        self.to.push(to);
                        self.reply("250 OK").await?;
                    }
                },
                "DATA" => self.data().await?,
                "RSET" => {
                    self.reset();
                    self.reply("250 OK").await?;
                }
                "NOOP" => self.reply("250 OK").await?,
                "QUIT" => {
                    self.reply("221 bye").await?;
                    return Ok(());
                }
                _ => self.reply("502 command not implemented").await?,
            }
        }
    }

    async fn data(&mut self) -> std::io::Result<()> {
        let Some(from) = self.from.clone() else {
            return self.reply("503 MAIL first").await;
        };
        if self.to.is_empty() {
            return self.reply("503 RCPT first").await;
        }
        self.reply("354 end data with <CR><LF>.<CR><LF>").await?;
        let mut data = Vec::new();
        let mut too_big = false;
        loop {
            let mut raw = Vec::new();
            if self.reader.read_until(b'\n', &mut raw).await? == 0 {
                return Ok(());
            }
            if raw == b".\r\n" || raw == b".\n" {
                break;
            }
            let unstuffed = if raw.starts_with(b".") {
                &raw[1..]
            } else {
                &raw[..]
            };
            if data.len() + unstuffed.len() > MAX_DATA {
                too_big = true;
            } else {
                data.extend_from_slice(unstuffed);
            }
        }
        if too_big {
            self.reset();
            return self.reply("552 message too large for the test sink").await;
        }
        if self.shared.reject == Some(RejectAt::Data) {
            self.reset();
            return self
                .reply("554 transaction failed (test sink rejects messages)")
                .await;
        }
        self.shared.push(CapturedMessage {
            from,
            to: std::mem::take(&mut self.to),
            auth_user: self.auth_user.clone(),
            data,
        });
        self.reset();
        self.reply("250 OK queued").await
    }

    async fn auth(&mut self, arg: &str) -> std::io::Result<()> {
        let mut parts = arg.split_whitespace();
        let mechanism = parts.next().unwrap_or_default().to_ascii_uppercase();
        let initial = parts.next().map(str::to_owned);
        match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(response) => response,
                    None => {
                        self.reply("334 ").await?;
                        match self.read_line().await? {
                            Line::Text(line) => line,
                            Line::Closed => return Ok(()),
                        }
                    }
                };
                // authzid \0 authcid \0 password
                let decoded = BASE64.decode(response.trim()).unwrap_or_default();
                let user = decoded
                    .split(|b| *b == 0)
                    .nth(1)
                    .map(|u| String::from_utf8_lossy(u).into_owned());
                self.auth_user = user;
                self.reply("235 2.7.0 authentication successful").await
            }
            "LOGIN" => {
                let user_b64 = match initial {
                    Some(user) => user,
                    None => {
                        self.reply("334 VXNlcm5hbWU6").await?;
                        match self.read_line().await? {
                            Line::Text(line) => line,
                            Line::Closed => return Ok(()),
                        }
                    }
                };
                self.reply("334 UGFzc3dvcmQ6").await?;
                if let Line::Closed = self.read_line().await? {
                    return Ok(());
                }
                let user = BASE64.decode(user_b64.trim()).unwrap_or_default();
                self.auth_user = Some(String::from_utf8_lossy(&user).into_owned());
                self.reply("235 2.7.0 authentication successful").await
            }
            _ => self.reply("504 unrecognized authentication type").await,
        }
    }

    fn reset(&mut self) {
        self.from = None;
        self.to.clear();
    }

    async fn read_line(&mut self) -> std::io::Result<Line> {
        let mut raw = Vec::new();
        let read = (&mut self.reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut raw)
            .await?;
        if read == 0 {
            return Ok(Line::Closed);
        }
        let text = String::from_utf8_lossy(&raw);
        Ok(Line::Text(text.trim_end_matches(['\r', '\n']).to_owned()))
    }

    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await?;
        self.writer.flush().await
    }
}

/// `FROM:<a@b> SIZE=1` → `a@b` (the prefix is matched case-insensitively).
fn path_arg(arg: &str, prefix: &str) -> Option<String> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let path = rest.split_whitespace().next()?;
    let path = path.strip_prefix('<')?.strip_suffix('>')?;
    Some(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::path_arg;

    #[test]
    fn parses_envelope_paths() {
        assert_eq!(
            path_arg("FROM:<a@b.c> SIZE=10", "FROM:"),
            Some("a@b.c".into())
        );
        assert_eq!(path_arg("from: <a@b.c>", "FROM:"), Some("a@b.c".into()));
        assert_eq!(path_arg("TO:<>", "TO:"), Some(String::new()));
        assert_eq!(path_arg("TO:a@b.c", "TO:"), None);
        assert_eq!(path_arg("FROM:<a@b.c>", "TO:"), None);
    }
}
