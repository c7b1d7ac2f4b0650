//! `userhub healthcheck`: GET a readiness URL over plain HTTP and report
//! success by exit code, for container health checks without curl.

use std::time::Duration;

use userhub_telemetry::error_chain;

/// Whether `GET http://{addr}{path}` answers 2xx within `timeout`. Redirects
/// are not followed and proxy variables are ignored: the answer must come
/// from the process being checked.
pub async fn check(addr: &str, path: &str, timeout: Duration) -> Result<u16, String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent("userhub-healthcheck")
        .build()
        .map_err(|e| error_chain(&e))?;
    let response = client
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("no answer from {addr} within {timeout:?}")
            } else if e.is_connect() {
                format!("cannot connect to {addr}: {}", error_chain(&e))
            } else {
                error_chain(&e)
            }
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(format!("{path} answered {}", status.as_u16()))
    }
}
