//! The console's pages, one module each, and the error page they share.

pub(crate) mod consumers;
pub(crate) mod event;
pub(crate) mod overview;
pub(crate) mod projections;
pub(crate) mod story;
pub(crate) mod streams;
pub(crate) mod tail;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::html;
use crate::state::Unavailable;

/// A page that could not be shown: its status and what to tell.
pub(crate) struct Failed {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl Failed {
    /// The store (or read-model database) cannot be read.
    pub fn unavailable(what: Unavailable) -> Self {
        Failed {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Store unavailable",
            message: what.0,
        }
    }

    /// Something asked for is not there.
    pub fn missing(message: impl Into<String>) -> Self {
        Failed {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            message: message.into(),
        }
    }

    /// A malformed request.
    pub fn bad(message: impl Into<String>) -> Self {
        Failed {
            status: StatusCode::BAD_REQUEST,
            title: "Bad request",
            message: message.into(),
        }
    }

    /// Not allowed here.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Failed {
            status: StatusCode::FORBIDDEN,
            title: "Not allowed",
            message: message.into(),
        }
    }
}

impl From<Unavailable> for Failed {
    fn from(what: Unavailable) -> Self {
        Failed::unavailable(what)
    }
}

impl From<disco::Error> for Failed {
    fn from(error: disco::Error) -> Self {
        Failed::unavailable(error.into())
    }
}

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        let body = format!(
            "<p class=\"error\">{}</p><p><a href=\"/\">Back to the overview</a> (it tries again).</p>",
            html::text(&self.message)
        );
        (self.status, Html(html::page(self.title, "", None, &body))).into_response()
    }
}

/// What a page handler answers.
pub(crate) type Page = Result<Html<String>, Failed>;
