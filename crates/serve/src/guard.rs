//! Who may ask what: the host names the server answers to, and the rule that only its own
//! page may write (teach mode).
//!
//! Two attacks are shut out, as Jupyter's server, webpack-dev-server and Vite shut them out:
//!
//! - **Another website writing into the teach folder.** Any page the user visits can make the
//!   browser send a "simple" request to `http://127.0.0.1:8000` without asking first (a CORS
//!   preflight): a POST whose content type is `text/plain`, a form's, or none. So a write must
//!   say `image/png`, `image/jpeg` or `application/json` (a browser asks the server first
//!   before sending those across sites, and this server says no by not answering `OPTIONS`),
//!   and a write whose `Origin` (or `Sec-Fetch-Site`) shows another site is refused.
//! - **DNS rebinding**, where a website's own name is made to point at this machine, so that
//!   its pages count as same-origin: every request must name in its `Host` an IP address,
//!   `localhost` (or a name under `.localhost`), or a name given with `--allowed-host`.
//!
//! Reads (`GET`, and `POST /api/predict`, which changes nothing and whose answer another site
//! cannot read) stay open to any local client, `curl` included: it sends a `Host` such as
//! `127.0.0.1:8000` and no `Origin`.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// The content types a write may have: none of them is one a browser sends across sites
/// without asking the server first.
pub const WRITE_TYPES: [&str; 3] = ["image/png", "image/jpeg", "application/json"];

/// The host names the server answers to besides IP addresses, `localhost` and the names under
/// `.localhost`: those given with `--allowed-host`. A name starting with `.` allows the
/// domain and every name under it (`.example.org`: `example.org`, `pc.example.org`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    names: Vec<String>,
}

impl AllowedHosts {
    pub fn new<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> AllowedHosts {
        AllowedHosts {
            names: names
                .into_iter()
                .map(|n| n.as_ref().trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|n| !n.is_empty())
                .collect(),
        }
    }

    /// The names given.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether a request naming `host` (a `Host` header's value: a name or an address, with
    /// or without a port) is answered.
    pub fn allows(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        name.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || self
                .names
                .iter()
                .any(|allowed| match allowed.strip_prefix('.') {
                    Some(domain) => name == domain || name.ends_with(allowed.as_str()),
                    None => name == *allowed,
                })
    }
}

/// The name or address of a `Host` header's value, without its port: `localhost` of
/// `localhost:8000`, `::1` of `[::1]:8000`. `None` when it is not of that form.
fn host_name(host: &str) -> Option<&str> {
    let name = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        inside
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return None,
            None => host,
        }
    };
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    valid.then_some(name)
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The host a request names: its `Host` header, else its URI's authority (HTTP/2); `None`
/// for a request naming none (not one a browser sends).
fn requested_host(request: &Request) -> Result<Option<String>, ApiError> {
    match request.headers().get(HOST) {
        Some(value) => value
            .to_str()
            .map(|v| Some(v.trim().to_string()))
            .map_err(|_| ApiError::bad_request("the Host header is not text")),
        None => Ok(request.uri().authority().map(|a| a.as_str().to_string())),
    }
}

/// Every request: its `Host` must be one the server answers to ([`AllowedHosts`]).
pub(crate) async fn check_host(
    State(hosts): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    match requested_host(&request) {
        Ok(Some(host)) if !hosts.allows(&host) => ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "this server does not answer to the host {host:?}: it answers to IP \
                 addresses, localhost and the names given with --allowed-host (a website \
                 whose name was pointed at this machine is refused, a guard against DNS \
                 rebinding); if {host:?} names this machine, start serve with --allowed-host \
                 {}",
                host_name(&host).unwrap_or("NAME")
            ),
        )
        .into_response(),
        Ok(_) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// The routes that write: refused unless [`check_write`] allows the request.
pub(crate) async fn same_origin_writes(request: Request, next: Next) -> Response {
    match check_write(request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// Whether a request may write: reads (`GET`, `HEAD`, `OPTIONS`) may; a write must come from
/// no website at all (no `Origin`: `curl`) or from this server's own page (an `Origin` whose
/// host is the request's `Host`, and no `Sec-Fetch-Site` saying otherwise), and a write with
/// a body must say one of [`WRITE_TYPES`]. `Err` is the 403 or 415 to answer.
pub fn check_write(method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let foreign = |from: &str| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "refused: the request comes from another website ({from}); only the page this \
                 server serves may write (teach mode's drawings), and local programs that \
                 send no Origin, such as curl"
            ),
        )
    };
    if let Some(site) = text("sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return Err(foreign(&format!("Sec-Fetch-Site: {site}")));
        }
    }
    if let Some(origin) = text(ORIGIN.as_str()) {
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        let host = text(HOST.as_str());
        let same = matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h));
        if !same {
            return Err(foreign(&format!("Origin: {origin}")));
        }
    }
    if *method != Method::DELETE {
        let said = text(CONTENT_TYPE.as_str()).unwrap_or("");
        let media = said.split(';').next().unwrap_or("").trim();
        if !WRITE_TYPES.iter().any(|t| media.eq_ignore_ascii_case(t)) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "a write must say what it sends with Content-Type: {}, not {}; a browser \
                     sends other types from any website without asking first, so they are \
                     refused",
                    WRITE_TYPES.join(", "),
                    if said.is_empty() {
                        "none".to_string()
                    } else {
                        format!("{said:?}")
                    }
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_localhost_and_named_hosts_are_answered_others_not() {
        let hosts = AllowedHosts::new(["digits.lan", ".example.org", " PC.Home. "]);
        for ok in [
            "127.0.0.1:8000",
            "127.0.0.1",
            "192.168.1.20:8000",
            "[::1]:8000",
            "[fe80::1]",
            "localhost:8000",
            "LOCALHOST",
            "app.localhost:8000",
            "digits.lan:8000",
            "digits.lan.",
            "example.org",
            "pc.example.org:80",
            "pc.home",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "rebind.example",
            "rebind.example:8000",
            "localhost.evil.example",
            "evilexample.org",
            "digits.lan.evil",
            "",
            ":8000",
            "127.0.0.1:80:80",
            "[::1]x",
            "a b",
            "localhost:port",
        ] {
            assert!(!hosts.allows(refused), "{refused:?}");
        }
        assert!(!AllowedHosts::default().allows("digits.lan"));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn writes_need_a_preflighted_type_and_this_origin() {
        let post = Method::POST;
        let png = ("content-type", "image/png");
        let host = ("host", "127.0.0.1:8000");
        // curl: no Origin.
        assert!(check_write(&post, &headers(&[png, host])).is_ok());
        assert!(check_write(&post, &headers(&[("content-type", "Image/JPEG"), host])).is_ok());
        // The page itself.
        let page = ("origin", "http://127.0.0.1:8000");
        let same = ("sec-fetch-site", "same-origin");
        assert!(check_write(&post, &headers(&[png, host, page, same])).is_ok());
        // Types a browser sends across sites unasked.
        for t in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "",
        ] {
            let e = check_write(&post, &headers(&[("content-type", t), host])).unwrap_err();
            assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{t}");
        }
        let e = check_write(&post, &headers(&[host])).unwrap_err();
        assert!(e.message.contains("not none"), "{}", e.message);
        // Other websites.
        for from in [
            ("origin", "http://evil.example"),
            ("origin", "null"),
            ("origin", "http://127.0.0.1:8001"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
        ] {
            let e = check_write(&post, &headers(&[png, host, from])).unwrap_err();
            assert_eq!(e.status, StatusCode::FORBIDDEN, "{from:?}");
            assert!(e.message.contains("another website"), "{}", e.message);
        }
        // An Origin with no Host to match is refused.
        assert!(check_write(&post, &headers(&[png, page])).is_err());
        // DELETE has no body, but the same origin rule.
        assert!(check_write(&Method::DELETE, &headers(&[host, page])).is_ok());
        let evil = ("origin", "http://evil.example");
        assert!(check_write(&Method::DELETE, &headers(&[host, evil])).is_err());
        // Reads are open.
        assert!(check_write(&Method::GET, &headers(&[host, evil])).is_ok());
    }
}
