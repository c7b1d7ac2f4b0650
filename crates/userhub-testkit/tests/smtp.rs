//! The SMTP sink works with the `lettre` client the service uses.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use userhub_testkit::{RejectAt, SmtpSink};

fn transport(port: u16) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(5)))
        .build()
}

fn message(to: &str) -> Message {
    Message::builder()
        .from(
            "Userhub <noreply@example.com>"
                .parse::<Mailbox>()
                .expect("from"),
        )
        .to(to.parse::<Mailbox>().expect("to"))
        .subject("Password recovery")
        .multipart(MultiPart::alternative_plain_html(
            "Hello,\n.starts with a dot\nReset: https://example.com/reset\n".to_owned(),
            "<p>Hello,</p><p>Reset: <a href=\"https://example.com/reset\">link</a></p>".to_owned(),
        ))
        .expect("message")
}

#[tokio::test]
async fn captures_a_multipart_message_sent_by_lettre() {
    let sink = SmtpSink::start().await.expect("sink");
    transport(sink.port())
        .send(message("Alice <alice@example.com>"))
        .await
        .expect("send");

    let messages = sink
        .wait_for(1, Duration::from_secs(5))
        .await
        .expect("message arrives");
    assert_eq!(messages.len(), 1);
    let captured = &messages[0];
    assert_eq!(captured.from, "noreply@example.com");
    assert_eq!(captured.to, vec!["alice@example.com".to_owned()]);
    assert_eq!(captured.auth_user, None);
    let data = captured.data_str();
    assert!(data.contains("Subject: Password recovery"), "{data}");
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("text/plain"), "{data}");
    assert!(data.contains("text/html"), "{data}");
    assert!(
        data.contains("\r\n.starts with a dot\r\n"),
        "dot-stuffed line not restored: {data}"
    );
    assert!(!data.contains("\r\n..starts"), "{data}");
    assert!(!data.ends_with("\r\n.\r\n"), "terminator kept: {data}");
    assert_eq!(sink.messages(), messages);
}

#[tokio::test]
async fn accepts_authentication_and_several_recipients() {
    let sink = SmtpSink::start().await.expect("sink");
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(sink.port())
        .credentials(Credentials::new("mailer".into(), "secret".into()))
        .build();
    let email = Message::builder()
        .from("a@example.com".parse::<Mailbox>().expect("from"))
        .to("b@example.com".parse::<Mailbox>().expect("to"))
        .cc("c@example.com".parse::<Mailbox>().expect("cc"))
        .subject("two")
        .body("body".to_owned())
        .expect("message");
    transport.send(email.clone()).await.expect("first send");
    transport.send(email).await.expect("second send");

    let messages = sink
        .wait_for(2, Duration::from_secs(5))
        .await
        .expect("both arrive");
    assert_eq!(messages.len(), 2);
    for captured in &messages {
        assert_eq!(captured.auth_user.as_deref(), Some("mailer"));
        assert_eq!(captured.to, vec!["b@example.com", "c@example.com"]);
    }
}

#[tokio::test]
async fn rejecting_sinks_make_sending_fail_permanently() {
    for at in [RejectAt::Rcpt, RejectAt::Data] {
        let sink = SmtpSink::start_rejecting(at).await.expect("sink");
        let error = transport(sink.port())
            .send(message("bob@example.com"))
            .await
            .expect_err("send must fail");
        assert!(error.is_permanent(), "{at:?}: {error}");
        assert!(sink.messages().is_empty(), "{at:?}");
    }
}

#[tokio::test]
async fn wait_for_times_out_with_the_count_received() {
    let sink = SmtpSink::start().await.expect("sink");
    let error = sink
        .wait_for(1, Duration::from_millis(100))
        .await
        .expect_err("nothing was sent");
    assert_eq!(
        error.to_string(),
        "expected 1 message(s) within 100ms, got 0"
    );
}

#[tokio::test]
async fn unknown_commands_and_starttls_get_502() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let sink = SmtpSink::start().await.expect("sink");
    let stream = tokio::net::TcpStream::connect(sink.addr())
        .await
        .expect("connect");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut next = async || lines.next_line().await.expect("read").expect("line");
    assert!(next().await.starts_with("220 "));
    for command in ["STARTTLS", "VRFY x", "DATA"] {
        write
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .expect("write");
        let reply = next().await;
        let expected = if command == "DATA" { "503 " } else { "502 " };
        assert!(reply.starts_with(expected), "{command}: {reply}");
    }
    write.write_all(b"QUIT\r\n").await.expect("quit");
    assert!(next().await.starts_with("221 "));
}
