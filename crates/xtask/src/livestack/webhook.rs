//! A receiver speaking Slack's incoming-webhook protocol: `POST` of a JSON
//! message (`text` and/or `attachments`), answered `200 ok`, or `400
//! invalid_payload` / `400 no_text` as Slack does. It records every message
//! with the path it arrived on, so a test can tell which Alertmanager
//! receiver (one webhook URL each) sent it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Result, bail};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use tokio::task::JoinHandle;

/// One message received.
#[derive(Debug, Clone)]
pub struct SlackMessage {
    /// The URL path it was posted to (`/slack/<name>`).
    pub path: String,
    pub received: SystemTime,
    pub payload: Value,
}

impl SlackMessage {
    /// Every human-visible string of the message (text, attachment titles,
    /// links, texts, fallbacks, button URLs), joined by newlines.
    pub fn visible_text(&self) -> String {
        let mut out = Vec::new();
        let p = &self.payload;
        for key in ["text", "channel"] {
            if let Some(s) = p[key].as_str() {
                out.push(s.to_owned());
            }
        }
        for a in p["attachments"].as_array().into_iter().flatten() {
            for key in ["title", "title_link", "text", "fallback", "pretext"] {
                if let Some(s) = a[key].as_str() {
                    out.push(s.to_owned());
                }
            }
            for action in a["actions"].as_array().into_iter().flatten() {
                for key in ["text", "url"] {
                    if let Some(s) = action[key].as_str() {
                        out.push(s.to_owned());
                    }
                }
            }
        }
        out.join("\n")
    }

    /// The first attachment's title (`[FIRING:1] AlertName (job) severity`).
    pub fn title(&self) -> &str {
        self.payload["attachments"][0]["title"]
            .as_str()
            .unwrap_or_default()
    }
}

type Store = Arc<Mutex<Vec<SlackMessage>>>;

/// The running receiver; stops on drop.
#[derive(Debug)]
pub struct SlackWebhook {
    addr: SocketAddr,
    store: Store,
    task: JoinHandle<()>,
}

impl SlackWebhook {
    /// Listens on a free 127.0.0.1 port.
    pub async fn start() -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let store: Store = Arc::default();
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(store.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, store, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The webhook URL for `path` (e.g. `/slack/oncall`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Messages received so far.
    pub fn messages(&self) -> Vec<SlackMessage> {
        self.store.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until a message satisfies `wanted`, at most `deadline`.
    pub async fn wait_for(
        &self,
        what: &str,
        deadline: Duration,
        wanted: impl Fn(&SlackMessage) -> bool,
    ) -> Result<SlackMessage> {
        let start = Instant::now();
        loop {
            if let Some(found) = self.messages().into_iter().find(|m| wanted(m)) {
                return Ok(found);
            }
            if start.elapsed() > deadline {
                let got: Vec<String> = self
                    .messages()
                    .iter()
                    .map(|m| format!("{} {}", m.path, m.title()))
                    .collect();
                bail!("no Slack message {what} within {deadline:?}; received: {got:#?}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for SlackWebhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(store): State<Store>,
    Path(path): Path<String>,
    body: String,
) -> (StatusCode, &'static str) {
    let Ok(payload) = serde_json::from_str::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload");
    };
    let has_text = payload["text"].as_str().is_some_and(|t| !t.is_empty())
        || payload["attachments"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        || payload["blocks"].as_array().is_some_and(|b| !b.is_empty());
    if !has_text {
        return (StatusCode::BAD_REQUEST, "no_text");
    }
    store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(SlackMessage {
            path: format!("/{path}"),
            received: SystemTime::now(),
            payload,
        });
    (StatusCode::OK, "ok")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepts_slack_messages_and_refuses_what_slack_refuses() {
        let hook = SlackWebhook::start().await.expect("start");
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let post = |body: &'static str| {
            client
                .post(hook.url("/slack/oncall"))
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let ok = post(r##"{"channel":"#x","attachments":[{"title":"t","text":"hello"}]}"##)
            .await
            .expect("post");
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.text().await.expect("body"), "ok");
        assert_eq!(post("not json").await.expect("post").status(), 400);
        assert_eq!(
            post(r##"{"channel":"#x"}"##).await.expect("post").status(),
            400
        );
        let messages = hook.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].path, "/slack/oncall");
        assert!(messages[0].visible_text().contains("hello"));
    }
}
