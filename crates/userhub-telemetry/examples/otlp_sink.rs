//! A local OTLP trace receiver for benchmarks: accepts spans on
//! `127.0.0.1:PORT` (gRPC, or HTTP/protobuf with `--http`) and prints how
//! many it received every 5 seconds. It decodes every export and keeps
//! nothing, like a collector that forwards spans elsewhere. Loopback only;
//! stop it with Ctrl-C.
//!
//! `cargo run --release -p userhub-telemetry --features testing --example otlp_sink -- 4317`

use std::time::Duration;

use userhub_telemetry::testing::{Protocol, start_counting_receiver_on};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(4317);
    let protocol = if args.next().as_deref() == Some("--http") {
        Protocol::HttpProtobuf
    } else {
        Protocol::Grpc
    };
    let (endpoint, received) = start_counting_receiver_on(("127.0.0.1", port), protocol).await;
    println!("OTLP {protocol:?} receiver on {endpoint}");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            () = tokio::time::sleep(Duration::from_secs(5)) => {
                println!("spans received: {}", received.count());
            }
        }
    }
    println!("spans received: {}", received.count());
}
