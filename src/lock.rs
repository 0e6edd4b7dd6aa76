//! One measuring run at a time per results folder. A second run started on
//! a folder while one measures there would measure the first's load (and
//! slow it), and the same benchmarks twice, each record written over the
//! other's: it is refused, naming the first. The shards of one grid lock
//! apart (`--shard K/N`: a cluster's array job may share a folder on a
//! shared file system). The lock is the kernel's (`flock`), so it goes
//! with its process however that ends, and a harness restarted by its
//! watchdog (`exec`) takes it again.

use crate::options::Shard;
use anyhow::{bail, Context, Result};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Held for as long as the run measures.
pub struct RunLock {
    _file: File,
}

/// The lock file of a run into `out` (of its shard, where it has one).
pub fn lock_path(out: &Path, shard: Option<Shard>) -> PathBuf {
    out.join(match shard {
        Some(s) => format!("cnn-bench-run-shard{}of{}.lock", s.index, s.count),
        None => "cnn-bench-run.lock".to_string(),
    })
}

impl RunLock {
    /// Takes the lock of `out` (and `shard`), or says who holds it. On a
    /// file system without locks the run goes on, warned.
    pub fn take(out: &Path, shard: Option<Shard>) -> Result<Self> {
        let path = lock_path(out, shard);
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock on a descriptor this function owns; no memory is shared.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                eprintln!(
                    "cnn-bench: warning: cannot lock {} ({e}): a second run into this folder would not be refused",
                    path.display()
                );
                return Ok(RunLock { _file: file });
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "its process unknown".to_string(),
                h => h.to_string(),
            };
            bail!(
                "another run is measuring into {} ({holder}{}): two at once would each measure the other's load, and the same benchmarks twice; wait for it to end, or give this one another folder (CRITERION_HOME)",
                out.display(),
                shard.map_or(String::new(), |s| format!(", shard {}/{}", s.index, s.count))
            );
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let since = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
        let said = format!(
            "pid {} on {}, since {since}",
            std::process::id(),
            host.trim()
        );
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(said.as_bytes()));
        Ok(RunLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_folder_is_refused_naming_the_first_and_shards_lock_apart() {
        let out = std::env::temp_dir().join(format!("cnn-bench-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let first = RunLock::take(&out, None).unwrap();
        // flock locks an open file description: a second open conflicts,
        // in this process as in another.
        let e = format!("{:#}", RunLock::take(&out, None).err().expect("refused"));
        assert!(
            e.starts_with("another run is measuring into")
                && e.contains(&format!("pid {} on ", std::process::id())),
            "{e}"
        );
        let shard = Shard { index: 2, count: 4 };
        let _two = RunLock::take(&out, Some(shard)).expect("a shard locks apart");
        let e = format!(
            "{:#}",
            RunLock::take(&out, Some(shard)).err().expect("refused")
        );
        assert!(e.contains("shard 2/4"), "{e}");
        drop(first);
        RunLock::take(&out, None).expect("free once the first is gone");
        let _ = std::fs::remove_dir_all(&out);
    }
}
