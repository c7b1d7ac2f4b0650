//! Prints how long one argon2id verification with the production
//! parameters takes on this machine (`cargo run --release -p userhub-core --example hash_timing`).

use std::time::Instant;

use userhub_core::security::PasswordHasher;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let hasher = PasswordHasher::new(1);
    let hash = hasher.hash("benchmark-password").await.expect("hash");
    let runs = 5;
    let started = Instant::now();
    for _ in 0..runs {
        hasher
            .verify("benchmark-password", &hash)
            .await
            .expect("verify");
    }
    println!(
        "argon2id m=65536 t=3 p=4 verify: {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
    );
}
