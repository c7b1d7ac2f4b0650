//! Outgoing email over SMTP: password recovery, new account and test
//! messages, each as multipart text + HTML. Without `SMTP_HOST` and
//! `EMAILS_FROM_EMAIL` nothing is sent and a warning is logged.

pub mod templates;

use std::fmt;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::{instrument, warn};
use userhub_core::config::{ExposeSecret, MailSettings};
use userhub_telemetry::Metrics;

pub use templates::EmailContent;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("email is not configured")]
    Disabled,
    #[error("invalid address: {0}")]
    Address(String),
    #[error("building the message failed")]
    Build(#[from] lettre::error::Error),
    #[error("the mail server refused or failed")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// Sends email, or explains why it cannot. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<Mailbox>,
    project_name: String,
    metrics: Metrics,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("enabled", &self.enabled())
            .finish()
    }
}

impl Mailer {
    pub fn new(settings: &MailSettings, project_name: &str, metrics: Metrics) -> Self {
        let (transport, from) = match (&settings.host, &settings.from_email) {
            (Some(host), Some(from_email)) => (
                build_transport(settings, host),
                // The reference's EMAILS_FROM_NAME defaults to PROJECT_NAME.
                mailbox(
                    settings.from_name.as_deref().or(Some(project_name)),
                    from_email,
                ),
            ),
            _ => (None, None),
        };
        Self {
            transport,
            from,
            project_name: project_name.to_owned(),
            metrics,
        }
    }

    pub fn enabled(&self) -> bool {
        self.transport.is_some() && self.from.is_some()
    }

    pub fn project_name(&self) -> &str {
        &self.project_name
    }

    /// Sends `content` to `to`; `kind` labels the metric.
    #[instrument(name = "email.send", skip_all, fields(email.kind = kind))]
    pub async fn send(
        &self,
        kind: &'static str,
        to: &str,
        content: EmailContent,
    ) -> Result<(), MailError> {
        let (Some(transport), Some(from)) = (&self.transport, &self.from) else {
            warn!(
                email.kind = kind,
                "email is not configured (set SMTP_HOST and EMAILS_FROM_EMAIL): not sending"
            );
            self.metrics.record_email(kind, "disabled");
            return Err(MailError::Disabled);
        };
        let result = async {
            let to: Mailbox = to.parse().map_err(|_| MailError::Address(to.to_owned()))?;
            let message = Message::builder()
                .from(from.clone())
                .to(to)
                .subject(content.subject)
                .multipart(MultiPart::alternative_plain_html(
                    content.text,
                    content.html,
                ))?;
            transport.send(message).await?;
            Ok(())
        }
        .await;
        match &result {
            Ok(()) => self.metrics.record_email(kind, "sent"),
            Err(e) => {
                warn!(email.kind = kind, error = %e, error.source = ?std::error::Error::source(e).map(ToString::to_string), "sending email failed");
                self.metrics.record_email(kind, "failed");
            }
        }
        result
    }
}

fn build_transport(
    settings: &MailSettings,
    host: &str,
) -> Option<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = if settings.ssl {
        AsyncSmtpTransport::<Tokio1Executor>::relay(host)
    } else if settings.tls {
        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
    } else {
        Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        ))
    };
    let mut builder = match builder {
        Ok(b) => b.port(settings.port).timeout(Some(settings.timeout)),
        Err(e) => {
            warn!(error = %e, "invalid SMTP configuration: email disabled");
            return None;
        }
    };
    if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose_secret().to_owned(),
        ));
    }
    Some(builder.build())
}

fn mailbox(name: Option<&str>, email: &str) -> Option<Mailbox> {
    let address = email.parse().ok()?;
    Some(Mailbox::new(name.map(str::to_owned), address))
}
