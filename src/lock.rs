//! One measuring run at a time per results folder. A second run started on
//! a folder while one measures there would measure the first's load (and
//! slow it), and the same benchmarks twice, each record written over the
//! other's: it is refused, naming the first. The shards of one grid lock
//! apart (`--shard K/N`: a cluster's array job may share a folder on a
//! shared file system), each holding the folder's lock shared and its
//! shard's alone; a shard of another count (`--shard 1/3` beside 2/4)
//! would measure some of theirs and is refused. A run without a shard
//! holds the folder's alone, so it and a shard refuse each other. The
//! locks are the kernel's (`flock`), so they go with their process however
//! that ends, and a harness restarted by its watchdog (`exec`) takes them
//! again.

use crate::options::Shard;
use anyhow::{bail, Context, Result};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Held for as long as the run measures: the folder's lock and, for a
/// shard, its shard's.
pub struct RunLock {
    _files: Vec<File>,
}

/// The lock file of a run into `out` (of its shard, where it has one).
pub fn lock_path(out: &Path, shard: Option<Shard>) -> PathBuf {
    out.join(match shard {
        Some(s) => format!("cnn-bench-run-shard{}of{}.lock", s.index, s.count),
        None => "cnn-bench-run.lock".to_string(),
    })
}

/// How a lock was asked for.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Alone,
    Shared,
}

/// What trying a lock found.
enum Tried {
    Held(File),
    /// Another process holds it; what its file says of it.
    Refused(String),
    /// The file system has no locks (warned).
    Unlockable(File),
}

fn open(path: &Path) -> Result<File> {
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

fn try_lock(path: &Path, mode: Mode) -> Result<Tried> {
    let mut file = open(path)?;
    let op = match mode {
        Mode::Alone => libc::LOCK_EX,
        Mode::Shared => libc::LOCK_SH,
    };
    // SAFETY: flock on a descriptor this function owns; no memory is shared.
    if unsafe { libc::flock(file.as_raw_fd(), op | libc::LOCK_NB) } == 0 {
        return Ok(Tried::Held(file));
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
        eprintln!(
            "cnn-bench: warning: cannot lock {} ({e}): a second run into this folder would not be refused",
            path.display()
        );
        return Ok(Tried::Unlockable(file));
    }
    let mut holder = String::new();
    let _ = file.read_to_string(&mut holder);
    Ok(Tried::Refused(holder.trim().to_string()))
}

/// Writes who holds `file` alone into it, for a refused run to name.
fn sign(mut file: &File) {
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
}

/// A shard measuring into a folder, as its lock file names it.
struct Measuring {
    shard: Shard,
    holder: String,
}

impl std::fmt::Display for Measuring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.shard;
        write!(f, "shard {}/{} ({})", s.index, s.count, self.holder)
    }
}

/// The shards measuring into `out` now, as their lock files name them
/// (the names `lock_path` gives).
fn shards_measuring(out: &Path) -> Vec<Measuring> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(out) else {
        return found;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(shard) = name
            .strip_prefix("cnn-bench-run-shard")
            .and_then(|n| n.strip_suffix(".lock"))
            .and_then(|n| Shard::parse(&n.replace("of", "/")).ok())
        else {
            continue;
        };
        if let Ok(Tried::Refused(holder)) = try_lock(&e.path(), Mode::Shared) {
            let holder = or_unknown(holder);
            found.push(Measuring { shard, holder });
        }
    }
    found.sort_by_key(|m| (m.shard.count, m.shard.index));
    found
}

fn listed(shards: &[Measuring]) -> String {
    let said: Vec<String> = shards.iter().map(|m| m.to_string()).collect();
    said.join("; ")
}

/// A lock file's words, or that it says nothing.
fn or_unknown(holder: String) -> String {
    if holder.is_empty() {
        "its process unknown".to_string()
    } else {
        holder
    }
}

fn refuse(out: &Path, who: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "another run is measuring into {} ({who}): two at once would each measure the other's load, and the same benchmarks twice; wait for it to end, or give this one another folder (CRITERION_HOME)",
        out.display()
    )
}

impl RunLock {
    /// Takes the locks of `out` (and `shard`), or says who holds them. On
    /// a file system without locks the run goes on, warned.
    pub fn take(out: &Path, shard: Option<Shard>) -> Result<Self> {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let folder = lock_path(out, None);
        let mode = if shard.is_some() {
            Mode::Shared
        } else {
            Mode::Alone
        };
        let mut files = Vec::new();
        match try_lock(&folder, mode)? {
            Tried::Unlockable(f) => return Ok(RunLock { _files: vec![f] }),
            Tried::Held(f) => {
                if mode == Mode::Alone {
                    sign(&f);
                }
                files.push(f);
            }
            // The folder's lock is held alone by a run without a shard
            // (which signed it), or shared by shards (which did not).
            Tried::Refused(holder) => {
                let shards = shards_measuring(out);
                let who = match shard {
                    None if !shards.is_empty() => format!("its shards: {}", listed(&shards)),
                    None => or_unknown(holder),
                    Some(_) => format!("{}; not sharded", or_unknown(holder)),
                };
                bail!(refuse(out, &who));
            }
        }
        if let Some(s) = shard {
            match try_lock(&lock_path(out, shard), Mode::Alone)? {
                Tried::Held(f) => {
                    sign(&f);
                    files.push(f);
                }
                Tried::Unlockable(f) => files.push(f),
                Tried::Refused(holder) => {
                    let who = format!("{}, shard {}/{}", or_unknown(holder), s.index, s.count);
                    bail!(refuse(out, &who));
                }
            }
            // Shards of another count select other benchmarks, some of them
            // this shard's. Looked for after taking this shard's lock, so of
            // two started at once at least one sees the other.
            let mut others = shards_measuring(out);
            others.retain(|m| m.shard.count != s.count);
            if !others.is_empty() {
                let who = format!(
                    "shards of another count than this {}/{}: {}",
                    s.index,
                    s.count,
                    listed(&others)
                );
                bail!(refuse(out, &who));
            }
        }
        Ok(RunLock { _files: files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(out: &Path, shard: Option<Shard>) -> String {
        format!("{:#}", RunLock::take(out, shard).err().expect("refused"))
    }

    /// The lock, once free: a process another test spawns meanwhile holds a
    /// copy of a dropped lock's descriptor until its `exec` closes it.
    fn taken_once_free(out: &Path, shard: Option<Shard>) -> RunLock {
        let start = std::time::Instant::now();
        loop {
            match RunLock::take(out, shard) {
                Ok(lock) => return lock,
                Err(e) if start.elapsed().as_secs() >= 5 => panic!("still held: {e:#}"),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }

    #[test]
    fn a_second_lock_on_a_folder_is_refused_naming_the_first_and_shards_lock_apart() {
        let out = std::env::temp_dir().join(format!("cnn-bench-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let me = format!("pid {} on ", std::process::id());
        let first = RunLock::take(&out, None).unwrap();
        // flock locks an open file description: a second open conflicts,
        // in this process as in another.
        let e = refused(&out, None);
        assert!(
            e.starts_with("another run is measuring into") && e.contains(&me),
            "{e}"
        );
        // A shard beside a run of the whole selection: refused too.
        let (two, three) = (Shard { index: 2, count: 4 }, Shard { index: 3, count: 4 });
        let e = refused(&out, Some(two));
        assert!(e.contains(&me) && e.contains("not sharded"), "{e}");
        drop(first);
        let _two = taken_once_free(&out, Some(two));
        let _three = RunLock::take(&out, Some(three)).expect("shards lock apart");
        let e = refused(&out, Some(two));
        assert!(e.contains(&me) && e.contains("shard 2/4"), "{e}");
        // A run of the whole selection beside shards: refused, naming them.
        let e = refused(&out, None);
        assert!(
            e.contains(&format!("its shards: shard 2/4 ({me}")) && e.contains("; shard 3/4 ("),
            "{e}"
        );
        // A shard of another count would measure some of theirs.
        let e = refused(&out, Some(Shard { index: 1, count: 2 }));
        assert!(
            e.contains("shards of another count than this 1/2: shard 2/4 (")
                && e.contains("; shard 3/4 ("),
            "{e}"
        );
        drop((_two, _three));
        // Refused, it let its own lock go.
        taken_once_free(&out, Some(Shard { index: 1, count: 2 }));
        taken_once_free(&out, None);
        let _ = std::fs::remove_dir_all(&out);
    }
}
