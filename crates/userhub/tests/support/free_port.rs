//! A loopback port nothing listens on right now (shared by the test crates
//! that start `userhub` processes).

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
