//! The messages Userhub sends. HTML parts escape every interpolated value.

/// Subject plus text and HTML bodies.
#[derive(Debug, Clone)]
pub struct EmailContent {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn layout(project: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{p}</title></head>\n\
         <body style=\"font-family: sans-serif; color: #1a202c; max-width: 36rem; margin: 2rem auto;\">\n\
         <h1 style=\"font-size: 1.25rem;\">{p}</h1>\n{body}\n</body></html>\n",
        p = escape(project)
    )
}

pub fn password_recovery(project: &str, email: &str, link: &str, valid_hours: i64) -> EmailContent {
    EmailContent {
        subject: format!("{project} - Password recovery for user {email}"),
        text: format!(
            "Hello {email},\n\nWe received a request to recover the password of your {project} account.\n\
             Reset your password by opening this link:\n\n{link}\n\n\
             The link is valid for {valid_hours} hours. If you did not ask for this, you can ignore this email.\n"
        ),
        html: layout(
            project,
            &format!(
                "<p>Hello {e},</p>\n<p>We received a request to recover the password of your account.</p>\n\
                 <p><a href=\"{l}\" style=\"display: inline-block; padding: .6rem 1rem; background: #2b6cb0; color: #fff; text-decoration: none; border-radius: 4px;\">Reset password</a></p>\n\
                 <p>Or paste this link into your browser:<br>{l}</p>\n\
                 <p>The link is valid for {valid_hours} hours. If you did not ask for this, you can ignore this email.</p>",
                e = escape(email),
                l = escape(link)
            ),
        ),
    }
}

/// Deviation from the reference: never contains the password.
pub fn new_account(project: &str, email: &str, link: &str) -> EmailContent {
    EmailContent {
        subject: format!("{project} - New account for user {email}"),
        text: format!(
            "Welcome to {project}!\n\nAn account was created for you with the username {email}.\n\
             Sign in at {link}\n(ask the person who created it for your password, or use \"Forgot password\").\n"
        ),
        html: layout(
            project,
            &format!(
                "<p>Welcome!</p>\n<p>An account was created for you with the username <strong>{e}</strong>.</p>\n\
                 <p><a href=\"{l}\">Sign in</a> (ask the person who created it for your password, or use \"Forgot password\").</p>",
                e = escape(email),
                l = escape(link)
            ),
        ),
    }
}

pub fn test_email(project: &str, email: &str) -> EmailContent {
    EmailContent {
        subject: format!("{project} - Test email"),
        text: format!("Test email for: {email}\n"),
        html: layout(
            project,
            &format!("<p>Test email for: {}</p>", escape(email)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_and_text_has_the_link() {
        let m = password_recovery(
            "P<x>",
            "a@example.com",
            "http://h/reset-password?token=a.b&c",
            48,
        );
        assert_eq!(m.subject, "P<x> - Password recovery for user a@example.com");
        assert!(m.text.contains("http://h/reset-password?token=a.b&c"));
        assert!(m.html.contains("token=a.b&amp;c"));
        assert!(m.html.contains("P&lt;x&gt;"));
    }

    #[test]
    fn new_account_mail_never_contains_a_password() {
        let m = new_account("P", "a@example.com", "http://h");
        assert!(!m.text.to_lowercase().contains("password:"));
    }
}
