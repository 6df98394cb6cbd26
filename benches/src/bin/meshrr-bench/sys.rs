//! The few system calls the harness needs, through libc: the open-file
//! limit (S3 holds a thousand sessions, and the target inherits the limit),
//! CPU affinity (`--pin`), a parent-death signal so that a target never
//! outlives the harness, and the clock tick for `/proc/PID/stat`.

#![allow(unsafe_code)]

use std::{io, os::unix::process::CommandExt, process::Command};

/// Raises the soft open-file limit to at least `want` (and the hard limit
/// with it when we may, as root); returns the soft limit now in force.
pub fn raise_nofile(want: u64) -> io::Result<u64> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass, which we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if rl.rlim_cur >= want {
        return Ok(rl.rlim_cur);
    }
    let raised = libc::rlimit {
        rlim_cur: want,
        rlim_max: rl.rlim_max.max(want),
    };
    // SAFETY: setrlimit only reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        return Ok(want);
    }
    // Not allowed past the hard limit: take the hard limit.
    let capped = libc::rlimit {
        rlim_cur: rl.rlim_max,
        rlim_max: rl.rlim_max,
    };
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &capped) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rl.rlim_max)
}

fn cpu_set(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes one bit of the set we own (it checks the index).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

/// Pins the calling thread to `cpu`. Called before the runtime starts, so
/// every thread the harness creates later inherits it.
pub fn pin_self(cpu: usize) -> io::Result<()> {
    let set = cpu_set(cpu);
    // SAFETY: pid 0 is the calling thread; the set is valid for its size.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes a spawned target die with the harness (SIGKILL when the thread
/// that spawned it exits) and, with `cpu`, run only on that CPU.
pub fn child_setup(cmd: &mut Command, cpu: Option<usize>) {
    let set = cpu.map(cpu_set);
    // SAFETY: the closure runs in the forked child before exec and calls
    // only prctl and sched_setaffinity, which are async-signal-safe, on a
    // set prepared before the fork; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(set) = &set {
                if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Clock ticks per second, the unit of CPU times in `/proc/PID/stat`.
pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf reads a constant of the system.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}
