//! The page: one HTML file with its script and styles, built into the binary. It loads nothing
//! from elsewhere, so it works offline.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

/// The page's source, `assets/index.html`.
pub(crate) const INDEX_HTML: &str = include_str!("../assets/index.html");

/// `GET /`.
pub(crate) async fn index() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
}
