//! The listening sink and its captured messages.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

use super::CapturedMessage;
use super::session::{Session, Shared};

/// Where the sink refuses mail, to test failure paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectAt {
    /// `550` to every `RCPT TO`.
    Rcpt,
    /// `554` after the message data is received.
    Data,
}

/// Failures of the sink.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSinkError {
    /// Binding the listener failed.
    #[error("binding the SMTP sink on 127.0.0.1:0: {0}")]
    Bind(#[source] std::io::Error),
    /// Fewer messages arrived than expected.
    #[error("expected {expected} message(s) within {timeout:?}, got {got}")]
    Timeout {
        /// Messages waited for.
        expected: usize,
        /// Messages received.
        got: usize,
        /// How long was waited.
        timeout: Duration,
    },
}

/// An SMTP server on 127.0.0.1 capturing messages in memory; stops on drop.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Start a sink that accepts every message.
    pub async fn start() -> Result<Self, SmtpSinkError> {
        Self::start_inner(None).await
    }

    /// Start a sink that refuses every message at `at`.
    pub async fn start_rejecting(at: RejectAt) -> Result<Self, SmtpSinkError> {
        Self::start_inner(Some(at)).await
    }

    async fn start_inner(reject: Option<RejectAt>) -> Result<Self, SmtpSinkError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(SmtpSinkError::Bind)?;
        let addr = listener.local_addr().map_err(SmtpSinkError::Bind)?;
        let shared = Arc::new(Shared {
            reject,
            messages: Mutex::new(Vec::new()),
            arrived: Notify::new(),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Self { addr, shared, task })
    }

    /// Address the sink listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Port the sink listens on (host is 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Messages captured so far.
    pub fn messages(&self) -> Vec<CapturedMessage> {
        self.shared.snapshot()
    }

    /// Wait until at least `n` messages were captured, then return all of them.
    pub async fn wait_for(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<CapturedMessage>, SmtpSinkError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            let messages = self.shared.snapshot();
            if messages.len() >= n {
                return Ok(messages);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Err(SmtpSinkError::Timeout {
                    expected: n,
                    got: self.shared.snapshot().len(),
                    timeout,
                });
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    sessions.spawn(Session::new(stream, Arc::clone(&shared)).run());
                }
                Err(error) => tracing::warn!(%error, "SMTP sink accept failed"),
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}
