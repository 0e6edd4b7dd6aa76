//! glibc's malloc for a run (`malloc` in cnn-bench.toml). With glibc's
//! defaults a large freed block goes back to the system (unmapped, or
//! trimmed off the heap's top), so the next step faults its activations in
//! again, each page zeroed by the kernel: about a fifth of resnet50's CPU
//! step at 224x224 batch 8, in libtorch from Rust and from Python alike
//! (docs/findings.md). `retain`, the grid's default, keeps freed memory for
//! reuse, as the allocators PyTorch's CPU tuning guide recommends do, in
//! this process and in every process it starts (the bench's children,
//! PyTorch's worker), so every framework gets it alike.
//!
//! Until 2026-12-03 `retain` still mapped blocks over 256 MiB on their own,
//! trimmed the heap when 1 GiB was free at its top, and let each thread
//! have an arena of its own, whose heaps map any block over 64 MiB on its
//! own: the largest CPU steps faulted those in every step (libtorch's
//! mobilenetv2 at 320x320 batch 32: 1.2-1.4x its time, by an amount that
//! depended on what the process had run before), and TensorFlow, whose
//! tensors are allocated on its own threads, faulted every large
//! activation (the same step: 2x its time; docs/findings.md).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// How glibc's malloc runs in the benchmark processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Malloc {
    /// glibc's own settings (every record before this setting existed,
    /// hence serde's default; a grid without the key gets `Retain`).
    #[default]
    Default,
    /// Freed memory kept for reuse: every thread allocates from the one
    /// main heap (glibc: an arena per thread, up to 8 per core, whose
    /// heaps map any block over 64 MiB on its own), every block comes from
    /// it (glibc: blocks over 128 KiB, a threshold rising with the largest
    /// block freed, are mapped and unmapped), and it is never trimmed
    /// (glibc: when 128 KiB are free at its top).
    Retain,
}

/// One arena, the main heap, for every thread.
const ARENA_MAX: i32 = 1;
/// No block mapped on its own (`M_MMAP_MAX`: how many may be at once).
const MMAP_MAX: i32 = 0;
/// glibc's `mallopt` reads -1 as "never trim"; its tunable takes the
/// largest size instead.
const TRIM_NEVER: i32 = -1;
const TRIM_NEVER_TUNABLE: u64 = u64::MAX;

impl Malloc {
    pub const NAMES: &[&str] = &["default", "retain"];

    pub fn name(self) -> &'static str {
        match self {
            Malloc::Default => "default",
            Malloc::Retain => "retain",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            "default" => Ok(Malloc::Default),
            "retain" => Ok(Malloc::Retain),
            other => bail!(
                "unknown malloc setting `{other}`; valid values: {}",
                Malloc::NAMES.join(", ")
            ),
        }
    }

    /// Sets this process's malloc, and, through `GLIBC_TUNABLES`, that of
    /// every process it starts from now on (read when they start). Called
    /// once, before the harness starts threads or processes.
    pub fn apply(self) -> Result<()> {
        if self == Malloc::Default {
            return Ok(());
        }
        set_thresholds()?;
        let existing = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        std::env::set_var("GLIBC_TUNABLES", tunables(&existing));
        Ok(())
    }
}

#[cfg(target_env = "gnu")]
fn set_thresholds() -> Result<()> {
    // SAFETY: mallopt changes three of glibc's parameters; it takes glibc's
    // arena lock and is safe to call at any time (threads already started
    // keep their arena: hence before any).
    let ok = unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX) == 1
            && libc::mallopt(libc::M_MMAP_MAX, MMAP_MAX) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_NEVER) == 1
    };
    if !ok {
        bail!("glibc refused malloc = \"retain\"'s thresholds (mallopt)");
    }
    Ok(())
}

#[cfg(not(target_env = "gnu"))]
fn set_thresholds() -> Result<()> {
    bail!("malloc = \"retain\" sets glibc's malloc; this build does not use glibc")
}

/// `GLIBC_TUNABLES` with the thresholds of `retain` after what it held.
fn tunables(existing: &str) -> String {
    let ours = format!(
        "glibc.malloc.arena_max={ARENA_MAX}:glibc.malloc.mmap_max={MMAP_MAX}:glibc.malloc.trim_threshold={TRIM_NEVER_TUNABLE}"
    );
    match existing {
        "" => ours,
        e if e.contains(&ours) => e.to_string(),
        e => format!("{e}:{ours}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_a_misspelling_names_the_valid_ones() {
        for name in Malloc::NAMES {
            assert_eq!(Malloc::parse(name).unwrap().name(), *name);
        }
        let e = Malloc::parse("jemalloc").unwrap_err().to_string();
        assert!(e.contains("default, retain"), "{e}");
    }

    #[test]
    fn tunables_keep_what_the_user_set() {
        let ours = tunables("");
        assert!(ours.starts_with("glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:"));
        assert_eq!(
            tunables("glibc.malloc.hugetlb=1"),
            format!("glibc.malloc.hugetlb=1:{ours}")
        );
        assert_eq!(tunables(&ours), ours);
    }

    /// Minor page faults of the calling thread so far.
    fn faults() -> i64 {
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `u` is a valid rusage for getrusage to fill.
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) }, 0);
        u.ru_minflt
    }

    /// What `retain` is for: a step's large buffers, freed and allocated
    /// again, are not faulted in again (with glibc's defaults: ~8000 faults
    /// a step here). 8 MiB buffers: a test runs on a thread of its own,
    /// whose arena's heaps hold 64 MiB at most.
    #[test]
    #[cfg(target_env = "gnu")]
    fn retain_reuses_freed_activations_without_page_faults() {
        Malloc::Retain.apply().unwrap();
        let n = 8 << 20;
        let step = || {
            let bufs: Vec<Vec<u8>> = (0..4).map(|i| vec![i as u8 + 1; n]).collect();
            std::hint::black_box(&bufs);
        };
        step(); // the heap grows once
        let before = faults();
        for _ in 0..10 {
            step();
        }
        let per_step = (faults() - before) / 10;
        assert!(per_step < 500, "{per_step} page faults a step");
        assert!(std::env::var("GLIBC_TUNABLES")
            .unwrap()
            .contains("glibc.malloc.trim_threshold=18446744073709551615"));
    }

    /// Minor page faults in `rounds` of allocating, writing and freeing
    /// `mib` MiB on another thread than the main one, in a process started
    /// with `GLIBC_TUNABLES` set to `tunables` (as the bench's children and
    /// PyTorch's worker are), after a first round: Python's ctypes, on a
    /// thread of its own, as TensorFlow allocates its tensors on its own.
    fn child_faults(tunables: &str, mib: usize, rounds: usize) -> i64 {
        let script = format!(
            "import ctypes, resource, threading\n\
             l = ctypes.CDLL('libc.so.6')\n\
             l.malloc.restype = ctypes.c_void_p\n\
             l.malloc.argtypes = [ctypes.c_size_t]\n\
             l.free.argtypes = [ctypes.c_void_p]\n\
             n = {mib} << 20\n\
             def round():\n\
             \x20   p = l.malloc(n); ctypes.memset(p, 1, n); l.free(p)\n\
             def run():\n\
             \x20   round()\n\
             \x20   f = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt\n\
             \x20   for _ in range({rounds}): round()\n\
             \x20   print(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - f)\n\
             t = threading.Thread(target=run); t.start(); t.join()\n"
        );
        let out = std::process::Command::new("python3")
            .args(["-c", &script])
            .env("GLIBC_TUNABLES", tunables)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// A block larger than a thread arena's heaps (64 MiB) and than the
    /// 256 MiB `retain` mapped on its own until 2026-12-03, allocated again
    /// on a thread after being freed: with glibc's defaults every page is
    /// faulted in again each time (76,800 pages a round), with `retain`'s
    /// tunables none is.
    #[test]
    #[cfg(target_env = "gnu")]
    fn retain_reuses_a_300_mib_block_on_a_thread_of_a_child() {
        let pages = 300 * 256;
        let default = child_faults("", 300, 3);
        assert!(
            default >= 3 * pages * 9 / 10,
            "glibc's defaults: {default} faults"
        );
        let retained = child_faults(&tunables(""), 300, 3);
        assert!(
            retained < pages / 10,
            "retain: {retained} faults in 3 rounds"
        );
    }
}
