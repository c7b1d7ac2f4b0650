//! A TCP proxy on loopback that injects faults into one dependency: added
//! latency on every chunk the upstream sends back (a slow database), or a
//! refused link (a dependency down).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Result, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug, Default)]
struct Faults {
    delay_ms: AtomicU64,
    down: AtomicBool,
}

/// The running proxy; stops (and drops every connection) on drop.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    faults: Arc<Faults>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free 127.0.0.1 port and forwards to `upstream` (loopback only).
    pub async fn start(upstream: SocketAddr) -> Result<Self> {
        ensure!(
            upstream.ip().is_loopback(),
            "the fault proxy only forwards to loopback, not {upstream}"
        );
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let faults = Arc::new(Faults::default());
        let shared = faults.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                if shared.down.load(Ordering::Relaxed) {
                    drop(client);
                    continue;
                }
                while connections.try_join_next().is_some() {}
                connections.spawn(forward(client, upstream, shared.clone()));
            }
        });
        Ok(Self { addr, faults, task })
    }

    /// The address clients connect to instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Delays every chunk coming back from the upstream by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.faults.delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Refuses new connections and cuts open ones (`true`), or heals (`false`).
    pub fn set_down(&self, down: bool) {
        self.faults.down.store(down, Ordering::Relaxed);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(client: TcpStream, upstream: SocketAddr, faults: Arc<Faults>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up_faults = faults.clone();
    let up = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if up_faults.down.load(Ordering::Relaxed)
                || server_write.write_all(&buf[..n]).await.is_err()
            {
                return;
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let delay = faults.delay_ms.load(Ordering::Relaxed);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            if faults.down.load(Ordering::Relaxed)
                || client_write.write_all(&buf[..n]).await.is_err()
            {
                return;
            }
        }
    };
    // Either direction ending closes both.
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn forwards_delays_and_cuts() {
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let upstream = echo.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let proxy = FaultProxy::start(upstream).await.expect("proxy");
        let mut conn = TcpStream::connect(proxy.addr()).await.expect("connect");
        let mut buf = [0u8; 4];
        conn.write_all(b"ping").await.expect("write");
        conn.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"ping");

        proxy.set_delay(Duration::from_millis(300));
        let start = Instant::now();
        conn.write_all(b"pong").await.expect("write");
        conn.read_exact(&mut buf).await.expect("read");
        assert!(
            start.elapsed() >= Duration::from_millis(300),
            "{:?}",
            start.elapsed()
        );

        proxy.set_down(true);
        let mut fresh = TcpStream::connect(proxy.addr()).await.expect("connect");
        let _ = fresh.write_all(b"x").await;
        let n = tokio::time::timeout(Duration::from_secs(5), fresh.read(&mut buf))
            .await
            .expect("closed promptly")
            .unwrap_or(0);
        assert_eq!(n, 0, "a refused link delivers nothing");
    }
}
