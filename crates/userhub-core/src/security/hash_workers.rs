//! The threads that run argon2 and bcrypt: one per hash permit, started with
//! the hasher, each at a lower scheduling priority than the threads that
//! serve requests (`nice` [`HASH_NICE`] on Linux).
//!
//! An argon2id verification is about 200 ms of CPU. With as many permits as
//! cores, a login storm at normal priority would hold every core and every
//! read would queue behind the hashes; at nice 10 the kernel gives the
//! request threads about ten times the hashes' share while both want CPU,
//! and the hashes all of it while the reads leave it idle. Logins therefore
//! keep their full speed on an otherwise quiet server and slow down, rather
//! than the reads, on a busy one.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// The nice value of the hashing threads (0 is the default, 19 the lowest
/// priority). A process already running nicer keeps its own value.
pub const HASH_NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why a job did not return a value.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("no hashing thread is running")]
    Closed,
    #[error("the hashing job panicked")]
    Panicked,
}

/// A fixed set of low-priority threads fed through one queue. The threads
/// end when the last clone of the pool is dropped.
#[derive(Clone, Debug)]
pub struct HashWorkers {
    jobs: mpsc::Sender<Job>,
}

impl HashWorkers {
    /// Starts `threads` threads (at least one).
    ///
    /// # Panics
    /// When the operating system refuses to start a thread, as tokio does
    /// for its own worker threads: a process that cannot start threads
    /// cannot serve.
    pub fn start(threads: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("userhub-hash-{index}"))
                .spawn(move || work(&queue))
                .unwrap_or_else(|e| panic!("cannot start a password hashing thread: {e}"));
        }
        Self { jobs }
    }

    /// Runs `f` on one of the threads. The job runs to its end even when
    /// the returned future is dropped: whatever `f` owns (a permit) is held
    /// until then.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WorkerError> {
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(f());
            }))
            .map_err(|_| WorkerError::Closed)?;
        // The sender is dropped without a value only when `f` panicked.
        result.await.map_err(|_| WorkerError::Panicked)
    }
}

fn work(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    loop {
        let job = {
            let Ok(queue) = queue.lock() else { return };
            match queue.recv() {
                Ok(job) => job,
                Err(mpsc::RecvError) => return,
            }
        };
        // A panicking job must not take its thread (and so a permit's
        // worth of capacity) with it.
        if std::panic::catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("password hashing job panicked");
        }
    }
}

/// Sets this thread's nice value to [`HASH_NICE`] unless it already is at
/// least that. On Linux a thread id names the one thread to
/// `setpriority(PRIO_PROCESS, …)`; failure only costs the priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let me = Some(rustix::thread::gettid());
        match getpriority_process(me) {
            Ok(current) if current >= HASH_NICE => {}
            _ => {
                if let Err(e) = setpriority_process(me, HASH_NICE) {
                    tracing::warn!(error = %e, "cannot lower the password hashing thread's priority");
                }
            }
        }
    }
}

/// This thread's nice value (Linux), for tests.
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn current_nice() -> i32 {
    rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap_or(i32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_a_panicking_one() {
        let workers = HashWorkers::start(1);
        assert_eq!(workers.run(|| 6 * 7).await.ok(), Some(42));
        let panicked = workers.run(|| -> u8 { panic!("boom") }).await;
        assert!(matches!(panicked, Err(WorkerError::Panicked)));
        // The only thread is still there.
        assert_eq!(workers.run(|| "still here").await.ok(), Some("still here"));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn jobs_run_below_the_callers_priority() {
        let caller = current_nice();
        let workers = HashWorkers::start(2);
        let inside = workers.run(current_nice).await.ok();
        assert_eq!(inside, Some(caller.max(HASH_NICE)));
        assert_eq!(current_nice(), caller, "the caller's thread is unchanged");
    }
}
