//! A response body that reports when its last byte was handed to the
//! connection, so work that must follow only a delivered answer (the
//! write-back after VERIFIED) starts then and never for an answer that was
//! dropped, replaced or not sent.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;

/// `bytes`, firing `sent` once the connection has taken all of them. The
/// receiver sees an error if the body is dropped before that.
pub struct NotifyOnSent {
    inner: Full<Bytes>,
    sent: Option<oneshot::Sender<()>>,
}

impl NotifyOnSent {
    /// A body of `bytes` and the receiver told when it is sent.
    pub fn new(bytes: Bytes) -> (Self, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        (
            Self {
                inner: Full::new(bytes),
                sent: Some(tx),
            },
            rx,
        )
    }
}

impl Body for NotifyOnSent {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        // `Full` is done after its one frame; hyper may not poll again.
        if polled.is_ready() && this.inner.is_end_stream() {
            if let Some(tx) = this.sent.take() {
                let _ = tx.send(());
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn fires_once_the_body_is_taken_and_not_before() {
        let (body, mut rx) = NotifyOnSent::new(Bytes::from_static(b"{}"));
        assert!(rx.try_recv().is_err());
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(&collected[..], b"{}");
        assert!(rx.try_recv().is_ok());
    }

    #[tokio::test]
    async fn a_dropped_body_reports_not_sent() {
        let (body, rx) = NotifyOnSent::new(Bytes::from_static(b"{}"));
        drop(body);
        assert!(rx.await.is_err());
    }
}
