//! The one background-job type of the app: a worker thread whose result — its value, its error,
//! or, when the worker panicked or vanished, an error saying so — always reaches the UI, so that
//! no panel waits on a dead job behind an endless spinner.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// The text of a panic payload.
pub fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Run `f`, turning a panic into an error that names `what` failed.
pub fn catch<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|p| Err(format!("{what} failed: {}", panic_message(p.as_ref()))))
}

/// A background job with a result of type `T`.
pub struct Job<T> {
    what: String,
    rx: Receiver<Result<T, String>>,
}

impl<T: Send + 'static> Job<T> {
    /// Run `f` on a new thread; the UI is asked to repaint when it ends.
    pub fn spawn(
        what: &str,
        ctx: Option<egui::Context>,
        f: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Self {
        let (tx, rx) = channel();
        let name = what.to_string();
        let spawned = std::thread::Builder::new()
            .name(format!("job: {what}"))
            .spawn(move || {
                let r = catch(&name, f);
                let _ = tx.send(r);
                if let Some(c) = ctx {
                    c.request_repaint();
                }
            });
        if let Err(e) = spawned {
            // No thread: the receiver is disconnected and `poll` says why.
            tracing::error!("{what}: cannot start a worker thread: {e}");
        }
        Job {
            what: what.to_string(),
            rx,
        }
    }

    /// The result once the job ended; `None` while it runs. A worker that ended without a
    /// result (killed, or the thread could not start) gives an error too.
    pub fn poll(&self) -> Option<Result<T, String>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(format!(
                "{}: the background worker stopped without a result",
                self.what
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait<T: Send + 'static>(j: &Job<T>) -> Result<T, String> {
        for _ in 0..500 {
            if let Some(r) = j.poll() {
                return r;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the job did not end");
    }

    #[test]
    fn results_errors_and_panics_all_arrive() {
        assert_eq!(wait(&Job::spawn("sum", None, || Ok(2 + 2))), Ok(4));
        assert_eq!(
            wait(&Job::<u8>::spawn("fail", None, || Err("bad input".into()))),
            Err("bad input".to_string())
        );
        let r = wait(&Job::<u8>::spawn("loading the product", None, || {
            panic!("boom")
        }));
        assert_eq!(r, Err("loading the product failed: boom".to_string()));
        let r = wait(&Job::<u8>::spawn("formatting", None, || {
            let n = 7;
            panic!("{n} is odd")
        }));
        assert_eq!(r, Err("formatting failed: 7 is odd".to_string()));
    }
}
