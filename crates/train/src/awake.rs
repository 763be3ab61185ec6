//! The training pool's other threads kept awake while the steps run, as long as they find work.
//!
//! A CPU backend splits a large operation (a matrix product, Adam's update of a large weight) in
//! halves with rayon: the step's thread runs one and leaves the other for an idle thread to take.
//! Between two such operations a step does small ones on its own thread, and rayon's idle threads
//! go to sleep after a few microseconds of finding nothing; the next split then waits for one to
//! wake, or runs both halves on the step's thread. Here each other thread of the pool instead
//! looks for work until the steps end, and stops looking (goes back to rayon's sleep) once it has
//! found none for [`GIVE_UP`]: a network whose operations are all too small to split gets no
//! thread spinning for it. PyTorch's and OpenBLAS's threads wait the same way (OpenMP's active
//! wait). Which thread runs a half does not change its arithmetic: the bits of a run stay the
//! same. BENCHMARKS.md has the measurements.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a thread looks for work without finding any before it stops looking: several
/// steps of a network none of whose operations splits, and far longer than the gap between
/// two splits of one that does.
pub(crate) const GIVE_UP: Duration = Duration::from_millis(2);

/// Runs `work` on the current thread of a rayon pool, the pool's other threads looking for its
/// split operations meanwhile. Outside a pool, or in a pool of one thread, it just runs `work`.
pub(crate) fn with_pool_awake<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    with_pool_awake_counted(work).0
}

/// [`with_pool_awake`], and how many jobs the other threads ran while they looked.
fn with_pool_awake_counted<R: Send>(work: impl FnOnce() -> R + Send) -> (R, usize) {
    let Some(caller) = rayon::current_thread_index() else {
        return (work(), 0);
    };
    if rayon::current_num_threads() < 2 {
        return (work(), 0);
    }
    let done = AtomicBool::new(false);
    let found = AtomicUsize::new(0);
    let value = rayon::scope(|scope| {
        // One job on every thread of the pool, this one's included: here it returns at once
        // (whenever this thread gets to it), elsewhere it looks for work.
        scope.spawn_broadcast(|_, context| {
            if context.index() != caller {
                found.fetch_add(look_for_work(&done), Ordering::Relaxed);
            }
        });
        // Set on the way out however `work` ends, a panic included: the scope waits for the
        // other threads to stop looking.
        let _stop = Stop(&done);
        work()
    });
    (value, found.into_inner())
}

/// Sets the flag when dropped.
struct Stop<'a>(&'a AtomicBool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Runs the pool's pending jobs as they come until `done`, or until none has come for
/// [`GIVE_UP`]; between looks it offers its CPU to any other thread that wants it. How many jobs
/// it ran.
fn look_for_work(done: &AtomicBool) -> usize {
    let (mut last_found, mut found) = (Instant::now(), 0);
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            (last_found, found) = (Instant::now(), found + 1);
        } else if last_found.elapsed() >= GIVE_UP {
            break;
        } else {
            std::thread::yield_now();
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Mutex;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool")
    }

    #[test]
    fn the_work_runs_once_and_its_value_comes_back_in_any_pool_or_none() {
        assert_eq!(with_pool_awake(|| 7), 7);
        for threads in [1, 2, 4] {
            let runs = Mutex::new(0);
            let value = pool(threads).install(|| {
                with_pool_awake(|| {
                    *runs.lock().expect("unpoisoned") += 1;
                    threads * 10
                })
            });
            assert_eq!(
                (value, *runs.lock().expect("unpoisoned")),
                (threads * 10, 1)
            );
        }
    }

    #[test]
    fn the_other_threads_take_the_halves_of_splits() {
        // Splits 0.2 ms apart (the caller's own work between them, long enough for rayon's
        // threads to go to sleep): the other thread takes halves while it looks (`found`).
        let threads_seen = Mutex::new(HashSet::new());
        let (caller, found) = pool(2).install(|| {
            with_pool_awake_counted(|| {
                for _ in 0..20 {
                    let spin_until = Instant::now() + Duration::from_micros(200);
                    while Instant::now() < spin_until {
                        std::hint::spin_loop();
                    }
                    rayon::join(
                        || std::thread::sleep(Duration::from_micros(300)),
                        || {
                            let me = rayon::current_thread_index();
                            threads_seen.lock().expect("unpoisoned").insert(me);
                        },
                    );
                }
                rayon::current_thread_index()
            })
        });
        let seen = threads_seen.into_inner().expect("unpoisoned");
        assert!(found > 0, "the other thread took no half while it looked");
        assert!(
            seen.iter().any(|&t| t != caller),
            "every half ran on the caller's thread {caller:?}: {seen:?}"
        );
    }

    #[test]
    fn a_panic_in_the_work_comes_out_instead_of_leaving_the_others_looking() {
        let outcome = std::panic::catch_unwind(|| {
            pool(2).install(|| with_pool_awake(|| -> usize { panic!("a step failed") }))
        });
        assert!(outcome.is_err());
    }

    #[test]
    fn threads_that_find_no_work_stop_looking() {
        // Nothing is ever split: the thread gives up after GIVE_UP, and the scope (which waits
        // for it) ends.
        let done = AtomicBool::new(false);
        let pool = pool(2);
        let started = Instant::now();
        pool.install(|| {
            rayon::scope(|scope| {
                scope.spawn(|_| assert_eq!(look_for_work(&done), 0));
            })
        });
        assert!(
            started.elapsed() < GIVE_UP * 50,
            "look_for_work ran {:?} with nothing to do",
            started.elapsed()
        );
    }
}
