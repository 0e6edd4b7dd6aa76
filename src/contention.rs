//! What else ran on the machine while a benchmark was measured: the CPU
//! time of processes outside the run (a hypervisor's steal included), from
//! /proc, and the processes outside the run on its GPU, from NVML. A
//! figure measured beside other work is slower than the machine is: the
//! record keeps what was seen, the run says it, and the report marks the
//! figure (`‡`) rather than let it pass for the framework's.
//!
//! Read when the measurement begins and when it ends (the `measuring` and
//! `finishing` stages), outside every timed region.

use crate::grid::Device;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The report's mark of a figure measured beside other work.
pub const MARK: &str = "‡";

/// What ran beside one benchmark's measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OtherWork {
    /// The machine's logical CPUs.
    pub cpus: usize,
    /// CPUs that processes outside the run kept busy, on average (the
    /// hypervisor's steal included).
    pub other_cores: f64,
    /// Of `other_cores`, the hypervisor's steal: time this machine's CPUs
    /// were given to other machines.
    pub steal_cores: f64,
    /// Processes outside the run on its GPU when the measurement began or
    /// ended; `None` for a CPU benchmark, or where NVML's process ids are
    /// not this machine's (another PID namespace).
    pub gpu_processes: Option<Vec<u32>>,
}

impl OtherWork {
    /// The least CPU use by others that marks a figure: a quarter of a
    /// core, or a twentieth of the machine's, whichever is more (an idle
    /// machine's daemons take about a hundredth of a core).
    pub fn cpu_threshold(cpus: usize) -> f64 {
        (cpus as f64 / 20.0).max(0.25)
    }

    /// Whether the measurement shared the machine enough to mark it.
    pub fn busy(&self) -> bool {
        self.other_cores > Self::cpu_threshold(self.cpus)
            || self.gpu_processes.as_ref().is_some_and(|p| !p.is_empty())
    }

    /// `other processes kept 1.30 of 2 CPUs busy (0.20 of it the
    /// hypervisor's steal); 1 other process(es) on its GPU (4242)`.
    pub fn said(&self) -> String {
        let mut out = format!(
            "other processes kept {:.2} of {} CPUs busy",
            self.other_cores, self.cpus
        );
        if self.steal_cores >= 0.005 {
            out += &format!(" ({:.2} of it the hypervisor's steal)", self.steal_cores);
        }
        if let Some(p) = self.gpu_processes.as_ref().filter(|p| !p.is_empty()) {
            let pids: Vec<String> = p.iter().map(|p| p.to_string()).collect();
            out += &format!(
                "; {} other process(es) on its GPU ({})",
                p.len(),
                pids.join(", ")
            );
        }
        out
    }
}

/// The whole machine's CPU time, in clock ticks summed over its CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Machine {
    busy: u64,
    steal: u64,
    /// Busy and idle: the CPUs times the ticks elapsed.
    total: u64,
    cpus: usize,
}

/// /proc/stat's `cpu` line (user nice system idle iowait irq softirq steal
/// guest guest_nice; guest time is already in user) and its `cpuN` lines.
fn parse_stat(stat: &str) -> Option<Machine> {
    let mut lines = stat.lines();
    let f: Vec<u64> = lines
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    let cpus = lines
        .take_while(|l| l.starts_with("cpu"))
        .filter(|l| l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    Some(Machine {
        busy: at(0) + at(1) + at(2) + at(5) + at(6) + at(7),
        steal: at(7),
        total: (0..8).map(at).sum(),
        cpus,
    })
}

/// One process of /proc/<pid>/stat: its parent, and the CPU time of it
/// and of its children it has waited for (clock ticks).
fn parse_process(stat: &str) -> Option<(u32, u64)> {
    // The name, in brackets, may hold spaces and brackets: fields count
    // from the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i)?.parse::<u64>().ok();
    // After the name: state (0), ppid (1), ..., utime (11), stime (12),
    // cutime (13), cstime (14).
    Some((n(1)? as u32, n(11)? + n(12)? + n(13)? + n(14)?))
}

/// The run's processes, `root` and its descendants, and their CPU time
/// (clock ticks; a child's moves into its parent's when it is waited for).
fn run_processes(root: u32) -> (BTreeSet<u32>, u64) {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut ticks: BTreeMap<u32, u64> = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if let Some((parent, t)) = parse_process(&stat) {
            children.entry(parent).or_default().push(pid);
            ticks.insert(pid, t);
        }
    }
    let (mut ours, mut todo, mut sum) = (BTreeSet::new(), vec![root], 0);
    while let Some(p) = todo.pop() {
        if ours.insert(p) {
            sum += ticks.get(&p).copied().unwrap_or(0);
            todo.extend(children.get(&p).into_iter().flatten());
        }
    }
    (ours, sum)
}

/// The process the run's processes descend from: this one, or, in a
/// benchmark's child process, the harness that started it.
fn run_root() -> u32 {
    if std::env::var_os(crate::child::CHILD_VAR).is_some() {
        std::os::unix::process::parent_id()
    } else {
        std::process::id()
    }
}

/// Processes on GPU `index` outside `ours`; `None` where NVML lists none
/// of ours (its ids are of another PID namespace, or it cannot list).
fn gpu_others(index: usize, ours: &BTreeSet<u32>) -> Option<BTreeSet<u32>> {
    let listed = crate::memory::gpu_processes(index).ok()?;
    listed
        .iter()
        .any(|p| ours.contains(p))
        .then(|| listed.into_iter().filter(|p| !ours.contains(p)).collect())
}

/// A reading at one end of the measurement.
struct Reading {
    machine: Machine,
    ours: u64,
    gpu: Option<BTreeSet<u32>>,
}

fn read(device: Device) -> Option<Reading> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let (pids, ours) = run_processes(run_root());
    Some(Reading {
        machine: parse_stat(&stat)?,
        ours,
        gpu: match device {
            Device::Gpu(i) => gpu_others(i, &pids),
            Device::Cpu => None,
        },
    })
}

/// What ran beside the measurement between readings `a` and `b`.
fn between(a: &Reading, b: &Reading) -> Option<OtherWork> {
    let total = b.machine.total.checked_sub(a.machine.total)?;
    if total == 0 || b.machine.cpus == 0 {
        return None;
    }
    let cores = |ticks: u64| ticks as f64 / total as f64 * b.machine.cpus as f64;
    let busy = b.machine.busy.saturating_sub(a.machine.busy);
    let ours = b.ours.saturating_sub(a.ours);
    let steal = b.machine.steal.saturating_sub(a.machine.steal);
    Some(OtherWork {
        cpus: b.machine.cpus,
        other_cores: cores(busy.saturating_sub(ours)),
        steal_cores: cores(steal),
        gpu_processes: match (&a.gpu, &b.gpu) {
            (Some(x), Some(y)) => Some(x.union(y).copied().collect()),
            _ => None,
        },
    })
}

/// Watches one benchmark's stages: reads the machine when `measuring`
/// begins and when `finishing` does.
pub struct Window {
    device: Device,
    began: Option<Reading>,
    seen: Option<OtherWork>,
}

impl Window {
    pub fn new(device: Device) -> Self {
        Window {
            device,
            began: None,
            seen: None,
        }
    }

    /// Told each stage as it begins (beside the watchdog's or the parent's).
    pub fn stage(&mut self, stage: &str) {
        match stage {
            "measuring" => self.began = read(self.device),
            "finishing" => {
                if let (Some(a), Some(b)) = (self.began.take(), read(self.device)) {
                    self.seen = between(&a, &b);
                }
            }
            _ => {}
        }
    }

    /// What ran beside the measurement; `None` when it did not end (or
    /// /proc could not be read).
    pub fn finish(self) -> Option<OtherWork> {
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 5 50 1000 7 3 2 40 9 0\ncpu0 50 2 25 500 3 1 1 20 4 0\ncpu1 50 3 25 500 4 2 1 20 5 0\nintr 1\n";

    #[test]
    fn proc_stat_gives_busy_steal_and_total_ticks() {
        let m = parse_stat(STAT).unwrap();
        assert_eq!(
            m,
            Machine {
                busy: 100 + 5 + 50 + 3 + 2 + 40,
                steal: 40,
                total: 100 + 5 + 50 + 1000 + 7 + 3 + 2 + 40,
                cpus: 2,
            }
        );
        assert_eq!(parse_stat("intr 1\n"), None);
    }

    #[test]
    fn a_process_name_with_spaces_and_brackets_does_not_shift_the_fields() {
        let stat = "4242 (a (b) c) S 17 4242 4242 0 -1 4194560 1 0 0 0 30 12 5 3 20 0 1 0";
        assert_eq!(parse_process(stat), Some((17, 30 + 12 + 5 + 3)));
        assert_eq!(parse_process("garbage"), None);
    }

    #[test]
    fn others_are_the_machines_busy_time_less_the_runs() {
        let reading = |busy, steal, total, ours, gpu: Option<&[u32]>| Reading {
            machine: Machine {
                busy,
                steal,
                total,
                cpus: 2,
            },
            ours,
            gpu: gpu.map(|g| g.iter().copied().collect()),
        };
        // 200 ticks over 2 CPUs: 100 ticks each. The machine was busy 180,
        // the run 120: others kept 60 of 200, 0.6 of the 2 CPUs.
        let a = reading(1000, 10, 5000, 400, Some(&[]));
        let b = reading(1180, 30, 5200, 520, Some(&[77]));
        let w = between(&a, &b).unwrap();
        assert!((w.other_cores - 0.6).abs() < 1e-9, "{w:?}");
        assert!((w.steal_cores - 0.2).abs() < 1e-9, "{w:?}");
        assert_eq!(w.gpu_processes, Some(vec![77]));
        assert!(w.busy());
        assert_eq!(
            w.said(),
            "other processes kept 0.60 of 2 CPUs busy (0.20 of it the hypervisor's steal); 1 other process(es) on its GPU (77)"
        );
        // A quiet machine: the run was all its busy time.
        let quiet = between(&a, &reading(1120, 10, 5200, 520, None)).unwrap();
        assert_eq!((quiet.other_cores, &quiet.gpu_processes), (0.0, &None));
        assert!(!quiet.busy());
        // No ticks elapsed: nothing to say.
        assert_eq!(between(&a, &a), None);
    }

    #[test]
    fn the_threshold_is_a_quarter_core_or_a_twentieth_of_the_machine() {
        assert_eq!(OtherWork::cpu_threshold(2), 0.25);
        assert_eq!(OtherWork::cpu_threshold(16), 0.8);
    }

    #[test]
    fn this_process_and_its_children_are_the_runs() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let (ours, _) = run_processes(std::process::id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(ours.contains(&std::process::id()));
        assert!(ours.contains(&child.id()), "{ours:?}");
        assert!(!ours.contains(&1), "init is not the run's");
    }
}
