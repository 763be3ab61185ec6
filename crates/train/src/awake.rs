//! The training pool's other threads kept awake while an epoch's steps run: they take the halves
//! of split operations as they come, and make the epoch's distorted batches in between.
//!
//! A CPU backend splits a large operation (a matrix product, Adam's update of a large weight) in
//! halves with rayon: the step's thread runs one and leaves the other for an idle thread to take.
//! Between two such operations a step does small ones on its own thread, and rayon's idle threads
//! go to sleep after a few microseconds of finding nothing; the next split then waits for one to
//! wake, or runs both halves on the step's thread. Here each other thread of the pool instead
//! looks for work until the steps end, and stops looking (goes back to rayon's sleep) once it has
//! found none for [`GIVE_UP`]: a network whose operations are all too small to split gets no
//! thread spinning for it. PyTorch's and OpenBLAS's threads wait the same way (OpenMP's active
//! wait).
//!
//! With `[augment]`, the same threads make the distorted batches ([`Distorted`]) up to a few
//! ahead of the steps, a few images at a time with a look for split halves between them: the
//! distortions fill the time the other threads would wait, where a thread of their own would take
//! a core from the steps' split halves. The step's thread makes a batch itself only when it needs
//! one that nobody has begun (always, in a pool of one thread).
//!
//! Neither changes a bit: which thread runs a half does not change its arithmetic, and every
//! distortion is drawn from the seed, the epoch and the image alone. BENCHMARKS.md has the
//! measurements.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use data::augment::{Distorter, Scratch};
use data::ImageDataset;

/// How long a thread looks for work without finding any before it stops looking: several
/// steps of a network none of whose operations splits, and far longer than the gap between
/// two splits of one that does.
pub(crate) const GIVE_UP: Duration = Duration::from_millis(2);

/// How many looks in a row must find nothing, beside [`GIVE_UP`]'s time, before a thread stops
/// looking: a thread the system did not run for a while has not been looking meanwhile.
const EMPTY_LOOKS: usize = 1_000;

/// How many images a thread distorts between two looks for split halves: a few tens of
/// microseconds, a small delay to a half that waits for it.
const IMAGES_BETWEEN_LOOKS: usize = 4;

/// Runs `work` on the current thread of a rayon pool, the pool's other threads looking for its
/// split operations meanwhile and making `distorted`'s batches. Outside a pool, or in a pool of
/// one thread, it just runs `work`.
pub(crate) fn with_pool_awake<R: Send>(
    distorted: Option<&Distorted>,
    work: impl FnOnce() -> R + Send,
) -> R {
    with_pool_awake_counted(distorted, work).0
}

/// [`with_pool_awake`], and how many split halves the other threads ran while they looked.
fn with_pool_awake_counted<R: Send>(
    distorted: Option<&Distorted>,
    work: impl FnOnce() -> R + Send,
) -> (R, usize) {
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
                found.fetch_add(look_for_work(&done, distorted), Ordering::Relaxed);
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

/// Runs the pool's pending jobs as they come and makes `distorted`'s batches in between, until
/// `done`, or until there is no batch left to make and no job has come for [`GIVE_UP`] and
/// [`EMPTY_LOOKS`] looks; between looks it offers its CPU to any other thread that wants it. How
/// many jobs it ran.
fn look_for_work(done: &AtomicBool, distorted: Option<&Distorted>) -> usize {
    let (mut last_found, mut empty_looks, mut found) = (Instant::now(), 0, 0);
    let mut scratch = Scratch::default();
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            (last_found, empty_looks, found) = (Instant::now(), 0, found + 1);
        } else if let Some((d, index)) = distorted.and_then(|d| Some((d, d.claim_ahead()?))) {
            d.make_claimed(index, &mut scratch);
            (last_found, empty_looks) = (Instant::now(), 0);
        } else if empty_looks < EMPTY_LOOKS || last_found.elapsed() < GIVE_UP {
            empty_looks += 1;
            std::thread::yield_now();
        } else if let Some(d) = distorted.filter(|d| !d.all_begun()) {
            // Ahead by the most it may be and nothing to split for a while: wait for the steps
            // to take a batch rather than spin.
            d.wait_for_room();
        } else {
            break;
        }
    }
    found
}

/// An epoch's distorted batches: made ahead of the steps by the pool's other threads
/// ([`with_pool_awake`]), taken in order by the steps ([`take`](Self::take)).
pub(crate) struct Distorted<'a> {
    distorter: &'a Distorter,
    dataset: &'a ImageDataset,
    chunks: &'a [&'a [usize]],
    epoch: usize,
    /// How many batches may be made before the steps take them.
    ahead: usize,
    window: Mutex<Window>,
    /// Told when a batch is made, taken, or given up.
    changed: Condvar,
}

/// Where the batches stand.
#[derive(Default)]
struct Window {
    /// The first batch nobody has begun to make.
    next: usize,
    /// How many batches the steps have taken.
    taken: usize,
    /// Batches made and not yet taken, by index.
    made: BTreeMap<usize, Vec<f32>>,
    /// Batches begun by a thread that then panicked: the steps make them.
    abandoned: Vec<usize>,
}

impl<'a> Distorted<'a> {
    /// The batches of `chunks` (the indices in `dataset` of each batch's images) in epoch
    /// `epoch`, made up to `ahead` before the steps take them.
    pub(crate) fn new(
        distorter: &'a Distorter,
        dataset: &'a ImageDataset,
        chunks: &'a [&'a [usize]],
        epoch: usize,
        ahead: usize,
    ) -> Self {
        Distorted {
            distorter,
            dataset,
            chunks,
            epoch,
            ahead: ahead.max(1),
            window: Mutex::new(Window::default()),
            changed: Condvar::new(),
        }
    }

    fn window(&self) -> MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pixels of batch `index`, which must be the batch after the last one taken: made
    /// already, or awaited while another thread makes it, or made here if nobody has begun it.
    pub(crate) fn take(&self, index: usize, scratch: &mut Scratch) -> Vec<f32> {
        let mut window = self.window();
        loop {
            if let Some(pixels) = window.made.remove(&index) {
                window.taken = index + 1;
                drop(window);
                self.changed.notify_all();
                return pixels;
            }
            let abandoned = window.abandoned.contains(&index);
            if window.next <= index || abandoned {
                window.next = window.next.max(index + 1);
                window.taken = index + 1;
                drop(window);
                self.changed.notify_all();
                return self.make(index, scratch, || ());
            }
            window = (self.changed.wait(window)).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The next batch nobody has begun, claimed, if it is within `ahead` of the steps.
    fn claim_ahead(&self) -> Option<usize> {
        let mut window = self.window();
        let index = window.next;
        (index < self.chunks.len() && index < window.taken + self.ahead).then(|| {
            window.next += 1;
            index
        })
    }

    /// Whether every batch has been begun.
    fn all_begun(&self) -> bool {
        self.window().next >= self.chunks.len()
    }

    /// Waits a little for the steps to take a batch.
    fn wait_for_room(&self) {
        let window = self.window();
        if window.next < window.taken + self.ahead {
            return;
        }
        let _ = self.changed.wait_timeout(window, GIVE_UP);
    }

    /// Makes batch `index`, claimed by this thread, looking for split halves between its
    /// images, and leaves it for the steps.
    fn make_claimed(&self, index: usize, scratch: &mut Scratch) {
        // If making it panics, the steps make it instead of waiting for it.
        struct Abandon<'d, 'a>(&'d Distorted<'a>, usize, bool);
        impl Drop for Abandon<'_, '_> {
            fn drop(&mut self) {
                if !self.2 {
                    self.0.window().abandoned.push(self.1);
                    self.0.changed.notify_all();
                }
            }
        }
        let mut abandon = Abandon(self, index, false);
        let pixels = self.make(index, scratch, || {
            rayon::yield_now();
        });
        self.window().made.insert(index, pixels);
        abandon.2 = true;
        self.changed.notify_all();
    }

    /// The pixels of batch `index`, a few images at a time with `between` after each few.
    fn make(&self, index: usize, scratch: &mut Scratch, mut between: impl FnMut()) -> Vec<f32> {
        let chunk = self.chunks[index];
        let mut pixels = vec![0f32; chunk.len() * data::IMAGE_PIXELS];
        let few = IMAGES_BETWEEN_LOOKS;
        for (images, out) in chunk
            .chunks(few)
            .zip(pixels.chunks_mut(few * data::IMAGE_PIXELS))
        {
            (self.distorter).batch_to(self.dataset, images, self.epoch, scratch, out);
            between();
        }
        pixels
    }
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
        assert_eq!(with_pool_awake(None, || 7), 7);
        for threads in [1, 2, 4] {
            let runs = Mutex::new(0);
            let value = pool(threads).install(|| {
                with_pool_awake(None, || {
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
            with_pool_awake_counted(None, || {
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
            pool(2).install(|| with_pool_awake(None, || -> usize { panic!("a step failed") }))
        });
        assert!(outcome.is_err());
    }

    #[test]
    fn threads_that_find_no_work_stop_looking() {
        // Nothing is ever split: the thread gives up after GIVE_UP and EMPTY_LOOKS looks (well
        // under a millisecond of them on an idle core; a loaded machine runs it less often), and
        // the scope, which waits for it, ends.
        let done = AtomicBool::new(false);
        let pool = pool(2);
        let started = Instant::now();
        pool.install(|| {
            rayon::scope(|scope| {
                scope.spawn(|_| assert_eq!(look_for_work(&done, None), 0));
            })
        });
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "look_for_work ran {:?} with nothing to do",
            started.elapsed()
        );
    }

    /// 40 images of noise and a distorter with every kind of distortion.
    fn images() -> (ImageDataset, Distorter) {
        let mut rng = data::SplitMix64::new(3);
        let pixels = (0..40 * data::IMAGE_PIXELS)
            .map(|_| (rng.next_u64() >> 56) as u8)
            .collect();
        let dataset = ImageDataset::new(pixels, (0..40).map(|i| i % 10).collect());
        let distortion = data::augment::Distortion {
            rotation: 10.0,
            scale: 0.1,
            shear: 5.0,
            translate: 1.5,
            elastic_alpha: 30.0,
            elastic_sigma: 4.0,
        };
        (dataset.expect("a dataset"), Distorter::new(distortion, 9))
    }

    #[test]
    fn the_steps_take_every_batch_as_one_thread_makes_it_in_any_pool() {
        let (dataset, distorter) = images();
        let order: Vec<usize> = (0..40).rev().collect();
        let chunks: Vec<&[usize]> = order.chunks(6).collect(); // the last one short
        let expected: Vec<Vec<f32>> = (chunks.iter())
            .map(|c| distorter.batch(&dataset, c, 2, &mut Scratch::default()))
            .collect();
        for threads in [1, 2, 4] {
            for pause in [Duration::ZERO, Duration::from_millis(3)] {
                let distorted = Distorted::new(&distorter, &dataset, &chunks, 2, 2);
                let taken = pool(threads).install(|| {
                    with_pool_awake(Some(&distorted), || {
                        let mut scratch = Scratch::default();
                        (0..chunks.len())
                            .map(|i| {
                                // Slow steps let the other threads fill their window.
                                std::thread::sleep(pause);
                                let w = distorted.window();
                                assert!(w.next <= w.taken + 2, "made too far ahead");
                                drop(w);
                                distorted.take(i, &mut scratch)
                            })
                            .collect::<Vec<_>>()
                    })
                });
                assert!(
                    taken == expected,
                    "{threads} threads, steps {pause:?} apart"
                );
            }
        }
    }

    #[test]
    fn steps_that_stop_early_end_the_epoch_and_a_batch_whose_maker_failed_is_made_by_the_steps() {
        let (dataset, distorter) = images();
        let order: Vec<usize> = (0..40).collect();
        let chunks: Vec<&[usize]> = order.chunks(4).collect();
        let distorted = Distorted::new(&distorter, &dataset, &chunks, 0, 3);
        let first = pool(2).install(|| {
            with_pool_awake(Some(&distorted), || {
                distorted.take(0, &mut Scratch::default())
            })
        });
        let expected = |i: usize| distorter.batch(&dataset, chunks[i], 0, &mut Scratch::default());
        assert!(first == expected(0));
        // Batch 5 begun by a thread that then panicked: no one is making it, so it is made here
        // instead of awaited for ever.
        let distorted = Distorted::new(&distorter, &dataset, &chunks, 0, 3);
        {
            let mut w = distorted.window();
            (w.next, w.taken) = (6, 5);
            w.abandoned.push(5);
        }
        assert!(distorted.take(5, &mut Scratch::default()) == expected(5));
    }
}
