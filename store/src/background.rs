//! CPU work below request serving. On a small machine a burst of writes
//! (each checks its tenant against its routers: milliseconds at the
//! benchmark platform's size) and the worker's compiles would otherwise
//! take the cores from every tenant's reads (issue 16: reads at 1,000
//! req/s while ten tenants write). Such work runs on threads at a lower
//! scheduling priority (`nice`), so it lengthens writes, not reads.

/// How much lower than request serving background work runs (`nice`).
pub const NICE: i32 = 10;

/// Lowers the calling thread to [`NICE`]; threads it starts inherit it
/// (on Linux `nice` is per thread and new threads take their creator's).
/// PRIO_PROCESS with 0 is the calling thread; raising one's own nice value
/// needs no privilege. A failure leaves the thread at normal priority,
/// which is only slower for reads.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        extern "C" {
            fn setpriority(which: i32, who: u32, prio: i32) -> i32;
        }
        /// `<sys/resource.h>`.
        const PRIO_PROCESS: i32 = 0;
        // SAFETY: the C library's setpriority(2) takes plain integers and
        // touches no memory of ours.
        unsafe {
            setpriority(PRIO_PROCESS, 0, NICE);
        }
    }
}

/// Runs `f` on a thread of its own at [`NICE`] and waits for it. On a
/// multi-threaded runtime the waiting thread's other requests move to
/// another thread meanwhile (`block_in_place`); elsewhere (a test's single
/// thread) it simply waits.
pub fn below_requests<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let run = || {
        std::thread::scope(|s| {
            // Named, so that profiles and `top -H` tell a write's checks
            // from the request threads they would otherwise be named after.
            let worker = std::thread::Builder::new()
                .name("vxguard-check".into())
                .spawn_scoped(s, || {
                    lower_priority();
                    f()
                })
                .expect("starting a check thread");
            match worker.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    };
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
        _ => run(),
    }
}

/// Runs the future `make` returns until it ends, on a thread of its own
/// (`name`) at [`NICE`] with a runtime of its own: background services
/// (the worker, the device-health collector) then never hold one of the
/// threads that answer requests, however long they compute between two
/// awaits. Connection pools they use should be made inside `make`, on
/// that runtime.
pub fn spawn_runtime<F>(
    name: &str,
    make: impl FnOnce() -> F + Send + 'static,
) -> std::io::Result<()>
where
    F: std::future::Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            lower_priority();
            rt.block_on(make());
        })
        .map(|_| ())
}
