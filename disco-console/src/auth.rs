//! Who may see the console: the token check every request passes (when the
//! console has a token), and the headers every answer carries (a content
//! security policy that runs no inline script, no framing, no caching).

use std::sync::Arc;

use axum::extract::{Request, State as Shared};
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::html;
use crate::state::State;

/// The cookie that carries the token after a page was opened with it.
const COOKIE: &str = "disco_console";

/// Whether `a` equals `b`, in a time that does not depend on where they
/// first differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The token a request presents: its bearer header, or its cookie.
fn presented(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The `token` query parameter of `query`, and the query without it.
fn token_in_query(query: &str) -> Option<(String, String)> {
    let mut token = None;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("token=") {
            Some(value) => token = Some(value.to_owned()),
            None if !pair.is_empty() => rest.push(pair),
            None => {}
        }
    }
    token.map(|t| (t, rest.join("&")))
}

/// Lets a request through when the console has no token or the request
/// presents it; a page opened with `?token=` gets the cookie and is sent
/// on without the token in its address.
pub(crate) async fn require_token(
    Shared(state): Shared<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = state.config.token.as_deref() else {
        return next.run(request).await;
    };
    if presented(request.headers()).is_some_and(|p| same(&p, token)) {
        return next.run(request).await;
    }
    let uri = request.uri();
    if let Some((given, rest)) = uri.query().and_then(token_in_query) {
        if same(&given, token) {
            let target = if rest.is_empty() {
                uri.path().to_owned()
            } else {
                format!("{}?{rest}", uri.path())
            };
            let mut response = Redirect::to(&target).into_response();
            if let Ok(cookie) = HeaderValue::from_str(&format!(
                "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            )) {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            return response;
        }
    }
    let body = html::page(
        "Token needed",
        "",
        None,
        "<p class=\"error\">This console needs its token: open the address <code>disco console</code> printed (it ends in <code>?token=...</code>), or send <code>Authorization: Bearer TOKEN</code>.</p>",
    );
    (StatusCode::UNAUTHORIZED, axum::response::Html(body)).into_response()
}

/// Adds the headers every answer carries.
pub(crate) async fn secure_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // Scripts and styles only from the console's own files: whatever a
    // payload smuggled into a page could not run.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }

    #[test]
    fn the_token_leaves_the_address() {
        assert_eq!(
            token_in_query("a=1&token=xyz&b=2"),
            Some(("xyz".into(), "a=1&b=2".into()))
        );
        assert_eq!(token_in_query("a=1"), None);
    }
}
