//! A minimal HTTP/1.1 client for loopback smoke tests (std only).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Sends one request with `Connection: close` and reads the whole response.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response> {
    if !addr.ip().is_loopback() {
        bail!("refusing to send test traffic to non-loopback address {addr}");
    }
    let timeout = Duration::from_secs(10);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("reading the response of {method} {path}"))?;
    parse(&raw).with_context(|| format!("parsing the response of {method} {path}"))
}

/// `GET path`.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Result<Response> {
    request(addr, "GET", path, headers, b"")
}

/// Status of `GET path` with a short deadline (connect + answer), or None.
pub fn quick_status(addr: SocketAddr, path: &str, deadline: Duration) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, deadline).ok()?;
    stream.set_read_timeout(Some(deadline)).ok()?;
    stream.set_write_timeout(Some(deadline)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Polls `GET path` until it answers 200 or `deadline` passes.
pub fn wait_for_200(addr: SocketAddr, path: &str, deadline: Duration) -> Result<Duration> {
    let start = Instant::now();
    let mut last = String::from("no attempt");
    while start.elapsed() < deadline {
        match get(addr, path, &[]) {
            Ok(resp) if resp.status == 200 => return Ok(start.elapsed()),
            Ok(resp) => last = format!("status {}: {}", resp.status, resp.body),
            Err(err) => last = format!("{err:#}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("GET http://{addr}{path} did not answer 200 within {deadline:?}; last: {last}")
}

fn parse(raw: &[u8]) -> Result<Response> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split]).context("headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().context("empty response")?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .context("no status code")?
        .parse::<u16>()
        .context("status code is not a number")?;
    let chunked = lines.any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    let payload = &raw[split + 4..];
    let body = if chunked {
        dechunk(payload)?
    } else {
        payload.to_vec()
    };
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("truncated chunk size")?;
        let size_text = std::str::from_utf8(&data[..eol])?;
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            bail!("truncated chunk");
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_response() {
        let resp = parse(b"HTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\ntrue")
            .expect("valid response");
        assert_eq!(resp.status, 201);
        assert_eq!(resp.body, "true");
    }

    #[test]
    fn parses_chunked_response() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
        let resp = parse(raw).expect("valid chunked response");
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, "{\"a\":1}");
    }

    #[test]
    fn quick_status_reads_the_status_line_or_gives_none() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("one connection");
            let mut request = [0u8; 256];
            let n = stream.read(&mut request).expect("request");
            assert!(request[..n].starts_with(b"GET /readyz HTTP/1.1\r\n"));
            stream
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                .expect("answer");
        });
        assert_eq!(
            quick_status(addr, "/readyz", Duration::from_secs(5)),
            Some(503)
        );
        server.join().expect("server thread");
        // Nothing listens there any more.
        assert_eq!(
            quick_status(addr, "/readyz", Duration::from_millis(200)),
            None
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"not http").is_err());
    }

    #[test]
    fn refuses_non_loopback_targets() {
        let addr = "192.0.2.1:80".parse().expect("literal address");
        let err = get(addr, "/", &[]).expect_err("non-loopback must be refused");
        assert!(err.to_string().contains("non-loopback"), "{err}");
    }
}
