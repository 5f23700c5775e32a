//! The courses' events and the three decisions that keep their rules: a
//! course is defined once, an email registers one student, and a student
//! subscribes to a course only while it has a free seat and the student
//! holds fewer than [`MAX_COURSES_PER_STUDENT`]. No aggregate spans a
//! course and its students, and no saga runs: each decision reads the
//! events its rule depends on, by tag, and appends on the condition that
//! none came in since.

use disco::cqrs::{Decision, DomainEvent};
use disco::{Query, QueryItem};
use serde::{Deserialize, Serialize};

/// The most courses one student may hold.
pub const MAX_COURSES_PER_STUDENT: u32 = 3;

/// Everything the courses record, each event tagged with what it is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum CourseEvent {
    CourseDefined {
        course_id: String,
        capacity: u32,
    },
    StudentRegistered {
        student_id: String,
        email: String,
    },
    StudentSubscribed {
        student_id: String,
        course_id: String,
    },
}

impl DomainEvent for CourseEvent {
    fn event_type(&self) -> &'static str {
        match self {
            CourseEvent::CourseDefined { .. } => "CourseDefined",
            CourseEvent::StudentRegistered { .. } => "StudentRegistered",
            CourseEvent::StudentSubscribed { .. } => "StudentSubscribed",
        }
    }

    fn tags(&self) -> Vec<String> {
        match self {
            CourseEvent::CourseDefined { course_id, .. } => vec![course(course_id)],
            CourseEvent::StudentRegistered { student_id, email } => {
                vec![student(student_id), email_tag(email)]
            }
            CourseEvent::StudentSubscribed {
                student_id,
                course_id,
            } => vec![student(student_id), course(course_id)],
        }
    }
}

pub fn course(id: &str) -> String {
    format!("course:{id}")
}

pub fn student(id: &str) -> String {
    format!("student:{id}")
}

/// Emails are compared as written, lower-cased.
pub fn email_tag(email: &str) -> String {
    format!("email:{}", email.to_lowercase())
}

/// Why a command is refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("course {0} is already defined")]
    CourseExists(String),
    #[error("there is no course {0}")]
    NoCourse(String),
    #[error("student {0} is already registered")]
    StudentExists(String),
    #[error("the email {0} is taken")]
    EmailTaken(String),
    #[error("there is no student {0}")]
    NoStudent(String),
    #[error("student {0} already holds a seat in course {1}")]
    AlreadySubscribed(String, String),
    #[error("course {0} is full ({1} seats)")]
    CourseFull(String, u32),
    #[error("student {0} already holds {MAX_COURSES_PER_STUDENT} courses")]
    TooManyCourses(String),
}

/// `define_course`: a course is defined once.
#[derive(Default, Serialize)]
pub struct CourseDefinition {
    pub defined: bool,
}

#[derive(Clone, Debug)]
pub struct DefineCourse {
    pub course_id: String,
    pub capacity: u32,
}

impl Decision for CourseDefinition {
    const NAME: &'static str = "course";
    type Command = DefineCourse;
    type Event = CourseEvent;
    type Error = Refusal;

    fn id(command: &DefineCourse) -> String {
        command.course_id.clone()
    }

    fn query(command: &DefineCourse) -> Query {
        Query::new().or(QueryItem::new()
            .types(["CourseDefined"])
            .tags([course(&command.course_id)]))
    }

    fn apply(&mut self, _: &CourseEvent) {
        self.defined = true;
    }

    fn decide(&self, command: &DefineCourse) -> Result<Vec<CourseEvent>, Refusal> {
        if self.defined {
            return Err(Refusal::CourseExists(command.course_id.clone()));
        }
        Ok(vec![CourseEvent::CourseDefined {
            course_id: command.course_id.clone(),
            capacity: command.capacity,
        }])
    }
}

/// `register_student`: one student per id, one student per email.
#[derive(Default, Serialize)]
pub struct Registration {
    pub student_exists: bool,
    pub email_taken: bool,
    #[serde(skip)]
    command: Option<RegisterStudent>,
}

#[derive(Clone, Debug)]
pub struct RegisterStudent {
    pub student_id: String,
    pub email: String,
}

impl Decision for Registration {
    const NAME: &'static str = "student";
    type Command = RegisterStudent;
    type Event = CourseEvent;
    type Error = Refusal;

    fn id(command: &RegisterStudent) -> String {
        command.student_id.clone()
    }

    fn query(command: &RegisterStudent) -> Query {
        Query::new()
            .or(QueryItem::new()
                .types(["StudentRegistered"])
                .tags([student(&command.student_id)]))
            .or(QueryItem::new()
                .types(["StudentRegistered"])
                .tags([email_tag(&command.email)]))
    }

    fn initial(command: &RegisterStudent) -> Self {
        Registration {
            command: Some(command.clone()),
            ..Registration::default()
        }
    }

    fn apply(&mut self, event: &CourseEvent) {
        // Matched by its student, its email, or both.
        if let (CourseEvent::StudentRegistered { student_id, email }, Some(asked)) =
            (event, &self.command)
        {
            self.student_exists |= *student_id == asked.student_id;
            self.email_taken |= email_tag(email) == email_tag(&asked.email);
        }
    }

    fn decide(&self, command: &RegisterStudent) -> Result<Vec<CourseEvent>, Refusal> {
        if self.student_exists {
            return Err(Refusal::StudentExists(command.student_id.clone()));
        }
        if self.email_taken {
            return Err(Refusal::EmailTaken(command.email.clone()));
        }
        Ok(vec![CourseEvent::StudentRegistered {
            student_id: command.student_id.clone(),
            email: command.email.clone(),
        }])
    }
}

/// `subscribe`: a seat in a course with room, for a registered student
/// holding fewer than the most courses.
#[derive(Default, Serialize)]
pub struct Seat {
    pub capacity: Option<u32>,
    pub taken: u32,
    pub student_registered: bool,
    pub student_courses: u32,
    pub already: bool,
    #[serde(skip)]
    command: Option<Subscribe>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Subscribe {
    pub student_id: String,
    pub course_id: String,
}

impl Decision for Seat {
    const NAME: &'static str = "subscription";
    type Command = Subscribe;
    type Event = CourseEvent;
    type Error = Refusal;

    fn id(command: &Subscribe) -> String {
        format!("{}-{}", command.course_id, command.student_id)
    }

    fn query(command: &Subscribe) -> Query {
        let (c, s) = (course(&command.course_id), student(&command.student_id));
        Query::new()
            .or(QueryItem::new()
                .types(["CourseDefined", "StudentSubscribed"])
                .tags([c]))
            .or(QueryItem::new()
                .types(["StudentRegistered", "StudentSubscribed"])
                .tags([s]))
    }

    fn initial(command: &Subscribe) -> Self {
        Seat {
            command: Some(command.clone()),
            ..Seat::default()
        }
    }

    fn apply(&mut self, event: &CourseEvent) {
        match event {
            CourseEvent::CourseDefined { capacity, .. } => self.capacity = Some(*capacity),
            CourseEvent::StudentRegistered { .. } => self.student_registered = true,
            CourseEvent::StudentSubscribed {
                student_id,
                course_id,
            } => {
                // Matched as one of the course's seats, one of the
                // student's courses, or both.
                let (course_of_query, student_of_query) = self
                    .command
                    .as_ref()
                    .map(|c| (c.course_id.as_str(), c.student_id.as_str()))
                    .unwrap_or_default();
                if course_id == course_of_query {
                    self.taken += 1;
                }
                if student_id == student_of_query {
                    self.student_courses += 1;
                    self.already |= course_id == course_of_query;
                }
            }
        }
    }

    fn decide(&self, command: &Subscribe) -> Result<Vec<CourseEvent>, Refusal> {
        let (c, s) = (&command.course_id, &command.student_id);
        let capacity = self.capacity.ok_or_else(|| Refusal::NoCourse(c.clone()))?;
        if !self.student_registered {
            return Err(Refusal::NoStudent(s.clone()));
        }
        if self.already {
            return Err(Refusal::AlreadySubscribed(s.clone(), c.clone()));
        }
        if self.taken >= capacity {
            return Err(Refusal::CourseFull(c.clone(), capacity));
        }
        if self.student_courses >= MAX_COURSES_PER_STUDENT {
            return Err(Refusal::TooManyCourses(s.clone()));
        }
        Ok(vec![CourseEvent::StudentSubscribed {
            student_id: s.clone(),
            course_id: c.clone(),
        }])
    }
}
