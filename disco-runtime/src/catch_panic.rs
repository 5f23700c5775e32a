//! [`CatchPanic`]: running a handler's future so that a panic in it
//! becomes an error (the consumers' and projections' runners use it).

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls `F`, turning a panic during a poll into `Err(message)`.
#[derive(Debug)]
pub struct CatchPanic<F>(pub F);

impl<F: Future + Unpin> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

/// The message of a caught panic's payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_its_message() {
        let panicking: Pin<Box<dyn Future<Output = ()> + Send>> =
            Box::pin(async { panic!("boom {}", 7) });
        assert_eq!(CatchPanic(panicking).await, Err("boom 7".to_owned()));
        let fine: Pin<Box<dyn Future<Output = u8> + Send>> = Box::pin(async { 3 });
        assert_eq!(CatchPanic(fine).await, Ok(3));
    }
}
