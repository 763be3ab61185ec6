//! How many cores a run kept busy: the CPU time it used, user and system, over its wall time.
//! 2.0 on a 2-core machine means both cores worked the whole time; 1.0, one core's worth.

use std::time::Instant;

/// Whose CPU time a [`Busy`] counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Whose {
    /// This process, every thread of it.
    Own,
    /// The child processes this one has waited for (a peer script, run to its end).
    Children,
}

/// A stopwatch of wall time and CPU time together.
#[derive(Debug)]
pub(crate) struct Busy {
    whose: Whose,
    wall: Instant,
    cpu: Option<f64>,
}

impl Busy {
    pub(crate) fn start(whose: Whose) -> Busy {
        Busy {
            whose,
            cpu: cpu_seconds(whose),
            wall: Instant::now(),
        }
    }

    /// (user + system) / wall since [`start`](Self::start); `None` where the system does not
    /// say (not a Unix) or no time passed.
    pub(crate) fn cores(&self) -> Option<f64> {
        let wall = self.wall.elapsed().as_secs_f64();
        let cpu = cpu_seconds(self.whose)? - self.cpu?;
        (wall > 0.0).then_some(cpu / wall)
    }
}

/// User plus system CPU seconds used so far.
#[cfg(unix)]
fn cpu_seconds(whose: Whose) -> Option<f64> {
    use nix::sys::resource::{getrusage, UsageWho};
    let who = match whose {
        Whose::Own => UsageWho::RUSAGE_SELF,
        Whose::Children => UsageWho::RUSAGE_CHILDREN,
    };
    let usage = getrusage(who).ok()?;
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
    Some(seconds(usage.user_time()) + seconds(usage.system_time()))
}

#[cfg(not(unix))]
fn cpu_seconds(_: Whose) -> Option<f64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_counts_and_a_sleeping_one_does_not() {
        let busy = Busy::start(Whose::Own);
        let mut x = 0u64;
        let started = Instant::now();
        while started.elapsed().as_millis() < 200 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let spinning = busy.cores().unwrap();
        // One thread spinning: about one core (the test harness may run others beside it).
        assert!(spinning > 0.5, "spinning: {spinning}");
        let idle = Busy::start(Whose::Children);
        std::thread::sleep(std::time::Duration::from_millis(100));
        // No child ended meanwhile (no test of this crate runs one): no CPU time.
        let idle = idle.cores().unwrap();
        assert!(idle.abs() < 1e-9, "children while sleeping: {idle}");
    }
}
