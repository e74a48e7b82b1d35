//! Ctrl-C (or SIGTERM) during a check: loops stop early so that every
//! guard runs (a router's link comes back up, the temporary rule and client
//! go); a second signal ends the process at once.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether a signal came since [`catch`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

extern "C" fn on_signal(sig: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
    // SAFETY: signal() is async-signal-safe; a second signal ends the
    // process at once.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
}

/// Catches SIGINT and SIGTERM for [`interrupted`].
pub fn catch() {
    // SAFETY: the handler only stores to an atomic and resets itself.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}
