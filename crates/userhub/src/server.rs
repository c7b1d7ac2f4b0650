//! The HTTP transport shared by `serve`, `api` and `web`: accepts TCP
//! connections up to a cap, serves HTTP/1.1 and HTTP/2 on each with
//! hyper, closes connections that are slow to send a request head or idle
//! too long, runs every fully received request to completion on its own
//! task, and shuts down in three steps (fail readiness, keep serving for
//! the shutdown delay, drain).
//!
//! ```text
//! accept ── permit (USERHUB_MAX_CONNECTIONS; else wait in the backlog)
//!   └─ connection ── watchdog: head pending > header timeout → close
//!                              idle > keep-alive timeout     → close
//!                              listener at its cap           → close idle ones
//!        └─ request ── own task: body received (≤ body limit) → handler
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, Version, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::{Service, ServiceExt};
use tracing::{debug, info, warn};
use userhub_core::config::ConnectionSettings;
use userhub_telemetry::Draining;

/// File descriptors kept free for everything that is not a client
/// connection (database pool, SQLite files, admin listener, mail, logs).
const RESERVED_FDS: u64 = 256;

/// How the server stops: after `signal`, readiness fails (`draining`), the
/// server keeps serving for `delay`, then stops accepting and gives
/// in-flight requests at most `drain` to finish.
#[derive(Debug, Clone)]
pub struct ShutdownPlan {
    pub draining: Draining,
    pub delay: Duration,
    pub drain: Duration,
}

/// Transport limits: the connection limits plus the body size buffered
/// before a request is handed to its own task.
#[derive(Debug, Clone)]
pub struct Limits {
    pub connections: ConnectionSettings,
    pub body_limit_bytes: usize,
    /// Bound on receiving a request body (the request timeout).
    pub body_timeout: Duration,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (a process that holds
/// one descriptor per connection should not stop at the common soft 1024)
/// and returns the resulting soft limit, if known.
pub fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                info!(from = ?limit.current, to = ?limit.maximum, "raised the open-files limit (RLIMIT_NOFILE)");
                return limit.maximum;
            }
            Err(e) => warn!(error = %e, "cannot raise the open-files limit (RLIMIT_NOFILE)"),
        }
    }
    limit.current
}

/// The connection cap actually enforced: the configured one, lowered so
/// that connections cannot exhaust the open-files limit.
pub fn effective_max_connections(configured: usize, fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(fds) => {
            let room = fds.saturating_sub(RESERVED_FDS).max(16);
            let cap = configured.min(usize::try_from(room).unwrap_or(usize::MAX));
            if cap < configured {
                warn!(
                    configured,
                    enforced = cap,
                    open_files_limit = fds,
                    "USERHUB_MAX_CONNECTIONS lowered to fit the open-files limit"
                );
            }
            cap
        }
        None => configured,
    }
}

/// What the server runs for each request: a cloneable, infallible HTTP
/// service whose futures may move between threads (an axum `Router`, with
/// or without layers).
pub trait HttpService:
    Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + 'static
{
}

impl<S> HttpService for S where
    S: Service<
            Request<Body>,
            Response = Response<Body>,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

/// Serves `service` on `listener` until `signal`, then shuts down as
/// `plan` says. Every request carries `ConnectInfo<SocketAddr>`.
pub async fn serve<S>(
    listener: TcpListener,
    service: S,
    limits: Limits,
    plan: ShutdownPlan,
    signal: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    S: HttpService,
{
    let max = effective_max_connections(limits.connections.max_connections, raise_fd_limit());
    let permits = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Timeouts are the watchdog's (below), which knows about idle time.
    // Half-close: a client's EOF after a complete request is not a reason
    // to end the exchange. Without it hyper probes the socket while the
    // request runs, and an EOF read there (before the request task has
    // taken the body from hyper's buffer) ends the connection and with it
    // the body: a request sent in full and then closed was lost.
    builder.http1().header_read_timeout(None).half_close(true);
    let shared = Shared {
        builder: Arc::new(builder),
        limits: Arc::new(limits),
        service,
        draining: plan.draining.clone(),
        pressure: Arc::new(Notify::new()),
        stop: stop_rx,
    };
    let mut connections = JoinSet::new();

    let mut signal = std::pin::pin!(signal);
    loop {
        // Back-pressure: at the cap, idle keep-alive connections make room
        // and new clients wait in the kernel's listen backlog.
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                debug!(max, "connection cap reached: closing idle connections");
                shared.pressure.notify_waiters();
                tokio::select! {
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = &mut signal => break,
                }
            }
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    while connections.try_join_next().is_some() {}
                    let conn = shared.clone();
                    connections.spawn(async move {
                        conn.run(stream, remote).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    // EMFILE and friends: keep the listener, retry shortly.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut signal => break,
        }
    }

    plan.draining.start();
    if !plan.delay.is_zero() {
        info!(
            delay_secs = plan.delay.as_secs_f64(),
            "shutting down: readiness fails; serving on until load balancers deregister"
        );
        // Still accepting: clients that have not yet noticed are served.
        let until = Instant::now() + plan.delay;
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = tokio::time::sleep_until(until) => break,
            };
            let Ok((stream, remote)) = accepted else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            // At the cap while shutting down, a client is refused rather
            // than queued behind a listener that is about to close.
            if let Ok(permit) = permits.clone().try_acquire_owned() {
                let conn = shared.clone();
                connections.spawn(async move {
                    conn.run(stream, remote).await;
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    info!(
        deadline_secs = plan.drain.as_secs_f64(),
        connections = connections.len(),
        "shutting down: draining in-flight requests"
    );
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(plan.drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            connections = connections.len(),
            "drain deadline passed: closing the remaining connections"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// What every connection needs.
#[derive(Clone)]
struct Shared<S> {
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: Arc<Limits>,
    service: S,
    draining: Draining,
    pressure: Arc<Notify>,
    stop: watch::Receiver<bool>,
}

/// Where a connection is in its request cycle, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request head.
    Head(Instant),
    /// At least this many requests are being handled.
    Busy(usize),
    /// Between requests.
    Idle(Instant),
}

/// The phase, shared by the I/O wrapper, the request service and the
/// watchdog; `changed` wakes the watchdog.
struct Tracker {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Tracker {
    fn update(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        let next = f(*phase);
        if next != *phase {
            *phase = next;
            self.changed.notify_one();
        }
    }

    fn get(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<S> Shared<S>
where
    S: HttpService,
{
    async fn run(mut self, stream: TcpStream, remote: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let tracker = Arc::new(Tracker {
            phase: Mutex::new(Phase::Head(Instant::now())),
            changed: Notify::new(),
        });
        let io = TokioIo::new(Tracked {
            inner: stream,
            tracker: tracker.clone(),
        });
        let service = RequestService {
            inner: self.service.clone(),
            remote,
            body_limit: self.limits.body_limit_bytes,
            body_timeout: self.limits.body_timeout,
            tracker: tracker.clone(),
            draining: self.draining.clone(),
        };
        let hyper_service = hyper_util::service::TowerToHyperService::new(service);
        let conn = self
            .builder
            .serve_connection(io, hyper_service)
            .into_owned();
        let mut conn = std::pin::pin!(conn);
        let header_timeout = self.limits.connections.header_read_timeout;
        let idle_timeout = self.limits.connections.keepalive_timeout;
        let mut closing = false;
        loop {
            // A head must arrive in time even while closing; an idle
            // connection that is already closing needs no second nudge.
            let deadline = match tracker.get() {
                Phase::Head(since) => Some(since + header_timeout),
                Phase::Idle(since) if !closing => Some(since + idle_timeout),
                Phase::Idle(_) | Phase::Busy(_) => None,
            };
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let idle = matches!(tracker.get(), Phase::Idle(_));
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        debug!(error = %e, client = %remote, "connection ended with an error");
                    }
                    return;
                }
                () = tracker.changed.notified() => {}
                () = sleep => match tracker.get() {
                    Phase::Head(_) => {
                        debug!(client = %remote, "request head not received in time: closing");
                        return;
                    }
                    Phase::Idle(_) if !closing => {
                        debug!(client = %remote, "idle keep-alive connection: closing");
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    Phase::Idle(_) => {}
                    Phase::Busy(_) => {}
                },
                () = self.pressure.notified(), if idle && !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                _ = self.stop.wait_for(|stop| *stop), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// The socket, noting when a request head starts arriving.
struct Tracked {
    inner: TcpStream,
    tracker: Arc<Tracker>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.tracker.update(|phase| match phase {
                Phase::Idle(_) => Phase::Head(Instant::now()),
                other => other,
            });
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One connection's request service: marks the connection busy, then on a
/// task of its own receives the body and runs the application, so a client
/// that disconnects after sending a complete request cannot cancel it (the
/// request timeout still bounds it).
#[derive(Clone)]
struct RequestService<S> {
    inner: S,
    remote: SocketAddr,
    body_limit: usize,
    body_timeout: Duration,
    tracker: Arc<Tracker>,
    draining: Draining,
}

/// Marks a request finished when dropped (completed or cancelled).
struct BusyGuard(Arc<Tracker>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.update(|phase| match phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }
}

impl<S> Service<Request<Incoming>> for RequestService<S>
where
    S: HttpService,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        self.tracker.update(|phase| match phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
        let guard = BusyGuard(self.tracker.clone());
        let inner = self.inner.clone();
        let remote = self.remote;
        let body_limit = self.body_limit;
        let body_timeout = self.body_timeout;
        let draining = self.draining.clone();
        let version = req.version();
        // Spawned here, not in the returned future: hyper ends the connection
        // (dropping that future, possibly before its first poll) as soon as
        // it reads the client's EOF. Receiving the body happens on the
        // request's own task too, for the same reason.
        let handled = tokio::spawn(async move {
            match receive(req, remote, body_limit, body_timeout).await {
                Ok(request) => match inner.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                },
                Err(response) => response,
            }
        });
        Box::pin(async move {
            let _guard = guard;
            let mut response = match handled.await {
                Ok(response) => response,
                Err(e) => {
                    warn!(error = %e, "request task failed");
                    internal_error()
                }
            };
            if draining.is_draining() && version == Version::HTTP_11 {
                // Move keep-alive clients off this instance before the drain.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        })
    }
}

/// The request with its body received in full (at most `limit` bytes,
/// within `timeout`), or the answer when it cannot be.
async fn receive(
    req: Request<Incoming>,
    remote: SocketAddr,
    limit: usize,
    timeout: Duration,
) -> Result<Request<Body>, Response<Body>> {
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(ConnectInfo(remote));
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        // The application answers 413 without reading it.
        return Ok(Request::from_parts(parts, Body::new(body)));
    }
    let collect = http_body_util::Limited::new(body, limit).collect();
    let bytes = match tokio::time::timeout(timeout, collect).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Ok(Err(e)) => {
            debug!(error = %e, "request body not received completely");
            return Err(bad_request());
        }
        Err(_) => return Err(body_timed_out()),
    };
    // A connection that ends early closes the body without an error: only
    // a body of the declared length is complete.
    if declared.is_some_and(|len| len != bytes.len() as u64) {
        debug!("request body shorter than its Content-Length: not handled");
        return Err(bad_request());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn json_response(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn too_large() -> Response<Body> {
    json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        r#"{"detail":"Request body is too large"}"#,
    )
}

fn bad_request() -> Response<Body> {
    json_response(
        StatusCode::BAD_REQUEST,
        r#"{"detail":"Incomplete request body"}"#,
    )
}

fn body_timed_out() -> Response<Body> {
    let mut response = json_response(
        StatusCode::REQUEST_TIMEOUT,
        r#"{"detail":"Request body not received in time"}"#,
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn internal_error() -> Response<Body> {
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        r#"{"detail":"Internal Server Error"}"#,
    )
}
