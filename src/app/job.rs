//! The one background-job type of the app: a worker thread that reports its progress, can be
//! asked to stop, and whose result — its value, its error, or, when the worker panicked or
//! vanished, an error saying so — always reaches the UI, so that no panel waits on a dead job
//! behind an endless spinner. Every background task of the app (loading, building the demo,
//! rendering, converting, benchmarking, comparing, reading a pixel, projecting the cursor) is a
//! [`Job`]; only the map's tile readers are a pool of long-lived workers (`canvas.rs`).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::sync::{Arc, Mutex};

use crate::convert::writer::CancelFlag;

/// How far a job is: `done` of `total` steps, and what it is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub what: String,
}

/// What a running job reports to the UI and is asked by it.
#[derive(Clone, Default)]
pub struct Control {
    progress: Arc<Mutex<Progress>>,
    cancel: CancelFlag,
    ctx: Option<egui::Context>,
}

impl Control {
    /// Report progress (the UI repaints).
    pub fn report(&self, done: u64, total: u64, what: &str) {
        if let Ok(mut p) = self.progress.lock() {
            *p = Progress {
                done,
                total,
                what: what.to_string(),
            };
        }
        if let Some(c) = &self.ctx {
            c.request_repaint();
        }
    }

    /// The flag [`Job::cancel`] sets, to hand to the library (checked between chunk writes).
    pub fn cancel_flag(&self) -> CancelFlag {
        self.cancel.clone()
    }
}

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
    control: Control,
}

impl<T: Send + 'static> Job<T> {
    /// Run `f` on a new thread; the UI is asked to repaint when it ends.
    pub fn spawn(
        what: &str,
        ctx: Option<egui::Context>,
        f: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Self {
        Self::spawn_with(what, ctx, move |_| f())
    }

    /// [`Job::spawn`] for a job that reports progress and can be cancelled through its
    /// [`Control`].
    pub fn spawn_with(
        what: &str,
        ctx: Option<egui::Context>,
        f: impl FnOnce(&Control) -> Result<T, String> + Send + 'static,
    ) -> Self {
        let (tx, rx) = channel();
        let name = what.to_string();
        let control = Control {
            ctx: ctx.clone(),
            ..Control::default()
        };
        let worker = control.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("job: {what}"))
            .spawn(move || {
                let r = catch(&name, || f(&worker));
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
            control,
        }
    }

    /// The last progress the job reported.
    pub fn progress(&self) -> Progress {
        self.control
            .progress
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// Ask the job to stop (it ends at its next check, with an error saying it was cancelled).
    pub fn cancel(&self) {
        self.control.cancel.cancel();
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

/// The newest of a stream of requests (the pixel under a moving cursor): one job at a time, the
/// request asked for last wins, and the value shown is always that of the key asked for.
pub struct Latest<K, V> {
    /// The key asked for last (`None`: nothing wanted).
    pub key: Option<K>,
    /// The value of the last finished job for `key`.
    pub value: Option<Result<V, String>>,
    running: Option<(K, Job<V>)>,
    next: Option<K>,
}

impl<K, V> Default for Latest<K, V> {
    fn default() -> Self {
        Latest {
            key: None,
            value: None,
            running: None,
            next: None,
        }
    }
}

impl<K: Clone + PartialEq, V: Send + 'static> Latest<K, V> {
    /// Ask for `key` (`None` clears); `start` spawns the job computing a key's value.
    pub fn want(&mut self, key: Option<K>, start: impl FnOnce(&K) -> Job<V>) {
        let Some(k) = key else {
            self.key = None;
            self.value = None;
            self.next = None;
            return;
        };
        if Some(&k) == self.key.as_ref() {
            self.next = None;
            return;
        }
        if self.running.is_some() {
            self.next = Some(k);
            return;
        }
        self.start(k, start);
    }

    fn start(&mut self, k: K, start: impl FnOnce(&K) -> Job<V>) {
        let job = start(&k);
        self.key = Some(k.clone());
        self.running = Some((k, job));
    }

    /// Take a finished job's value; start the newest key asked for meanwhile.
    pub fn poll(&mut self, start: impl FnOnce(&K) -> Job<V>) {
        let Some((k, job)) = &self.running else {
            return;
        };
        let Some(r) = job.poll() else { return };
        if Some(k) == self.key.as_ref() {
            self.value = Some(r);
        }
        self.running = None;
        if let Some(n) = self.next.take()
            && Some(&n) != self.key.as_ref()
        {
            self.start(n, start);
        }
    }

    /// Whether the value is that of the key asked for last.
    pub fn settled(&self) -> bool {
        self.running.is_none() && self.next.is_none() && self.value.is_some()
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
    fn progress_and_cancel_reach_the_worker() {
        let j = Job::spawn_with("counting", None, |c: &Control| {
            c.report(1, 3, "first");
            let flag = c.cancel_flag();
            for _ in 0..500 {
                if flag.is_cancelled() {
                    return Err("cancelled".into());
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Ok(())
        });
        for _ in 0..500 {
            if j.progress().done == 1 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(
            j.progress(),
            Progress {
                done: 1,
                total: 3,
                what: "first".into()
            }
        );
        j.cancel();
        assert_eq!(wait(&j), Err("cancelled".to_string()));
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
