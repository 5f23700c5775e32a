//! The console's actions: retry or skip a parked stream, rebuild a
//! projection, drop its retired generations. They exist only with
//! `allow_actions`, only as POSTs carrying the console's CSRF token, and
//! each one is logged (to standard error) with what it did.

use std::sync::Arc;

use axum::extract::State as Shared;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use disco::consumer::parking::{self, Release};
use disco::{StreamId, Timestamp};
use serde::Deserialize;

use crate::auth::same;
use crate::pages::Failed;
use crate::state::State;

/// Refuses an action the console does not allow or a form that did not
/// come from one of its pages.
fn allowed(state: &State, csrf: &str) -> Result<(), Failed> {
    if !state.config.allow_actions {
        return Err(Failed::forbidden(
            "actions are off: start the console with --allow-actions",
        ));
    }
    // A form carries the token only a console page could have given it.
    if !same(csrf, &state.csrf) {
        return Err(Failed::forbidden(
            "this form did not come from this console (its CSRF token is missing or stale): reload the page",
        ));
    }
    Ok(())
}

/// Writes one line about an action to standard error.
fn log(what: &str) {
    eprintln!("{} disco console: {what}", Timestamp::now().to_rfc3339());
}

/// The retry and skip form.
#[derive(Deserialize)]
pub(crate) struct ParkedForm {
    #[serde(default)]
    csrf: String,
    consumer: String,
    stream: String,
    how: String,
}

/// `POST /actions/parked`: releases a parked stream (retry or skip).
pub(crate) async fn parked(
    Shared(state): Shared<Arc<State>>,
    Form(form): Form<ParkedForm>,
) -> Result<Response, Failed> {
    allowed(&state, &form.csrf)?;
    let how = match form.how.as_str() {
        "retry" => Release::Retry,
        "skip" => Release::Skip,
        other => return Err(Failed::bad(format!("no action {other:?}: retry or skip"))),
    };
    let stream =
        StreamId::new(&form.stream).map_err(|e| Failed::bad(format!("not a stream id: {e}")))?;
    let store = state.store().await?;
    let released = parking::release(&*store, &form.consumer, &stream, how).await?;
    log(&format!(
        "{} {:?} parked by {:?}: event {} (version {}, position {})",
        form.how,
        form.stream,
        form.consumer,
        released.event_id,
        released.version,
        released.position
    ));
    Ok(Redirect::to("/consumers").into_response())
}

/// The rebuild and drop-retired form.
#[derive(Deserialize)]
pub(crate) struct ProjectionForm {
    #[serde(default)]
    csrf: String,
    name: String,
    what: String,
}

/// `POST /actions/projections`: starts a rebuild or drops retired
/// generations.
pub(crate) async fn projections(
    Shared(state): Shared<Arc<State>>,
    Form(form): Form<ProjectionForm>,
) -> Result<Response, Failed> {
    allowed(&state, &form.csrf)?;
    let models = state.models().await?;
    match form.what.as_str() {
        "rebuild" => {
            let generation = models
                .rebuild(&form.name)
                .await
                .map_err(|e| Failed::bad(e.to_string()))?;
            log(&format!(
                "rebuild of {:?} started: generation {generation}",
                form.name
            ));
        }
        "drop-retired" => {
            let dropped = models
                .drop_retired(&form.name)
                .await
                .map_err(|e| Failed::bad(e.to_string()))?;
            log(&format!(
                "dropped the retired generations {dropped:?} of {:?}",
                form.name
            ));
        }
        other => {
            return Err(Failed::bad(format!(
                "no action {other:?}: rebuild or drop-retired"
            )))
        }
    }
    Ok(Redirect::to("/projections").into_response())
}
