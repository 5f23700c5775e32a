//! The courses service's wiring and console session. `main.rs` runs it;
//! the facade's `tests/courses_example.rs` runs it on SQLite and
//! PostgreSQL, and races subscriptions from several processes.

use std::io::Write;
use std::sync::Arc;

use disco::cqrs::{BuildError, DispatchError, FieldErrors, Orchestrator};
use disco::{EventStore, Query, QueryItem};
use serde::Deserialize;
use serde_json::json;

use crate::domain::{
    course, CourseDefinition, CourseEvent, DefineCourse, RegisterStudent, Registration, Seat,
    Subscribe,
};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// `define_course`'s parameters.
#[derive(Deserialize)]
struct DefineParams {
    course_id: String,
    capacity: u32,
}

/// `register_student`'s parameters.
#[derive(Deserialize)]
struct RegisterParams {
    student_id: String,
    email: String,
}

/// `subscribe`'s parameters.
#[derive(Deserialize)]
struct SubscribeParams {
    student_id: String,
    course_id: String,
}

/// The orchestrator: three decisions (no aggregate spans a course and its
/// students) and a query that reads a course's students by tag.
pub fn orchestrator(store: Arc<dyn EventStore>) -> Result<Orchestrator, BuildError> {
    let roster_store = store.clone();
    Orchestrator::builder(store)
        .decision::<CourseDefinition, _>(|routes| {
            routes.decoded("define_course", |d: DefineParams, p| {
                p.check(
                    "course_id",
                    !d.course_id.trim().is_empty(),
                    "must not be empty",
                );
                p.check(
                    "capacity",
                    (1..=1000).contains(&d.capacity),
                    "must be from 1 to 1000",
                );
                Some(DefineCourse {
                    course_id: d.course_id,
                    capacity: d.capacity,
                })
            })
        })
        .decision::<Registration, _>(|routes| {
            routes.decoded("register_student", |r: RegisterParams, p| {
                p.check(
                    "student_id",
                    !r.student_id.trim().is_empty(),
                    "must not be empty",
                );
                p.check("email", r.email.contains('@'), "must be an email address");
                Some(RegisterStudent {
                    student_id: r.student_id,
                    email: r.email,
                })
            })
        })
        .decision::<Seat, _>(|routes| {
            routes.decoded("subscribe", |s: SubscribeParams, _| {
                Some(Subscribe {
                    student_id: s.student_id,
                    course_id: s.course_id,
                })
            })
        })
        .query(
            "roster",
            |p| p.string("course_id"),
            move |course_id: String| {
                let store = roster_store.clone();
                async move { roster(&*store, &course_id).await }
            },
        )
        .build()
}

/// The students holding a seat in `course_id`, in the order they got it:
/// read by the course's tag, no read model needed.
pub async fn roster(store: &dyn EventStore, course_id: &str) -> Result<Vec<String>, disco::Error> {
    let query = Query::new().or(QueryItem::new()
        .types(["StudentSubscribed"])
        .tags([course(course_id)]));
    let mut students = Vec::new();
    let mut after = 0;
    loop {
        let read = store.read_query(&query, after, 500).await?;
        let full = read.events.len() == 500;
        for event in &read.events {
            if let Ok((CourseEvent::StudentSubscribed { student_id, .. }, _)) =
                disco::cqrs::decode::<CourseEvent>(event)
            {
                students.push(student_id);
            }
        }
        if !full {
            return Ok(students);
        }
        after = read.consistent_at;
    }
}

/// What the session saw, for the example's test.
#[derive(Debug, Default)]
pub struct Session {
    /// Every field problem of a bad `define_course`, in one answer.
    pub invalid: FieldErrors,
    /// The refusals met, in order.
    pub refusals: Vec<String>,
    /// Course c1's students.
    pub c1: Vec<String>,
    /// Course c2's students.
    pub c2: Vec<String>,
}

/// Dispatches `name`; a refusal is noted (and printed) instead of failing.
async fn try_dispatch(
    app: &Orchestrator,
    out: &mut dyn Write,
    session: &mut Session,
    name: &str,
    params: serde_json::Value,
) -> Result<(), Failure> {
    match app.dispatch(name, params.clone()).await {
        Ok(done) => writeln!(out, "{name} {params}: ok, {}", done.state)?,
        Err(DispatchError::Rejected(refusal)) => {
            writeln!(out, "{name} {params}: refused, {refusal}")?;
            session.refusals.push(refusal.to_string());
        }
        Err(other) => return Err(other.into()),
    }
    Ok(())
}

/// The session: two courses, four students, the rules at work.
pub async fn run(url: &str, out: &mut dyn Write) -> Result<Session, Failure> {
    let store = disco::connect(url).await?;
    let app = orchestrator(store.clone())?;
    let mut session = Session::default();
    writeln!(out, "courses on {url}; commands: {:?}", app.commands())?;
    match app
        .dispatch("define_course", json!({"course_id": 7, "capacity": 0}))
        .await
    {
        Err(DispatchError::Validation(errors)) => {
            writeln!(out, "define_course with bad parameters: {errors:?}")?;
            session.invalid = errors;
        }
        other => return Err(format!("a bad define_course answered {other:?}").into()),
    }
    let s = &mut session;
    for (name, params) in [
        ("define_course", json!({"course_id": "c1", "capacity": 2})),
        ("define_course", json!({"course_id": "c2", "capacity": 1})),
        ("define_course", json!({"course_id": "c1", "capacity": 9})),
        (
            "register_student",
            json!({"student_id": "ada", "email": "ada@example.com"}),
        ),
        (
            "register_student",
            json!({"student_id": "bob", "email": "bob@example.com"}),
        ),
        (
            "register_student",
            json!({"student_id": "cy", "email": "cy@example.com"}),
        ),
        (
            "register_student",
            json!({"student_id": "dee", "email": "ADA@example.com"}),
        ),
        ("subscribe", json!({"student_id": "ada", "course_id": "c1"})),
        ("subscribe", json!({"student_id": "bob", "course_id": "c1"})),
        ("subscribe", json!({"student_id": "cy", "course_id": "c1"})),
        ("subscribe", json!({"student_id": "ada", "course_id": "c1"})),
        ("subscribe", json!({"student_id": "ada", "course_id": "c2"})),
        ("subscribe", json!({"student_id": "dee", "course_id": "c2"})),
        ("subscribe", json!({"student_id": "cy", "course_id": "c9"})),
    ] {
        try_dispatch(&app, out, s, name, params).await?;
    }
    session.c1 = roster(&*store, "c1").await?;
    session.c2 = roster(&*store, "c2").await?;
    writeln!(out, "c1: {:?}; c2: {:?}", session.c1, session.c2)?;
    store.close().await?;
    Ok(session)
}
