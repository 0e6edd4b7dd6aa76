//! glibc's malloc for a run (`malloc` in cnn-bench.toml). With glibc's
//! defaults a large freed block goes back to the system (unmapped, or
//! trimmed off the heap's top), so the next step faults its activations in
//! again, each page zeroed by the kernel: about a fifth of resnet50's CPU
//! step at 224x224 batch 8, in libtorch from Rust and from Python alike
//! (docs/findings.md). `retain`, the grid's default, keeps freed memory for
//! reuse, as the allocators PyTorch's CPU tuning guide recommends do, in
//! this process and in every process it starts (the bench's children,
//! PyTorch's worker), so every framework gets it alike.

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
    /// Freed memory kept for reuse: blocks under 256 MiB come from the heap
    /// (glibc: over 128 KiB, a threshold rising with the largest block
    /// freed, are mapped and unmapped), and the heap is trimmed only when
    /// 1 GiB is free at its top (glibc: 128 KiB).
    Retain,
}

const MMAP_THRESHOLD: i32 = 256 << 20;
const TRIM_THRESHOLD: i32 = 1 << 30;

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
    // SAFETY: mallopt changes two of glibc's parameters; it takes glibc's
    // arena lock and is safe to call at any time.
    let ok = unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
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
        "glibc.malloc.mmap_threshold={MMAP_THRESHOLD}:glibc.malloc.trim_threshold={TRIM_THRESHOLD}"
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
        assert!(ours.starts_with("glibc.malloc.mmap_threshold=268435456:"));
        assert_eq!(
            tunables("glibc.malloc.arena_max=2"),
            format!("glibc.malloc.arena_max=2:{ours}")
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
            .contains("glibc.malloc.trim_threshold=1073741824"));
    }
}
