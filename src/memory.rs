//! Memory readings recorded beside each benchmark's timing. A reading is a
//! number or the reason there is none: a missing figure never appears as 0.
//!
//! - `nvml_process_mib`: GPU memory NVML attributes to this process after
//!   the measurement, what nvidia-smi shows and what the study measured
//!   (includes the CUDA context and whatever a caching allocator keeps:
//!   libtorch's keeps its peak, candle's frees buffers as it goes);
//! - `nvml_peak_mib`: the highest NVML reading, sampled every millisecond
//!   while the two preparation steps ran: the peak for allocators that free
//!   eagerly too (of the process that ran the steps: `pytorch`'s worker);
//! - `device_used_mib`: memory in use on the whole device (total - free),
//!   from the CUDA driver (`cuMemGetInfo`), other processes included;
//! - `allocator_peak_mib`: the framework allocator's own peak, where the
//!   framework exposes one (neither tch 0.24 nor candle 0.11 does: recorded
//!   as unavailable with that reason);
//! - `peak_rss_mib`: the process's peak resident memory (`VmHWM`), for CPU
//!   runs; per configuration only when each runs in its own process.

use crate::grid::Device;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A memory figure in MiB, or why it could not be read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    Mib(f64),
    Unavailable(String),
}

impl Reading {
    fn from_bytes(r: Result<u64, String>) -> Self {
        match r {
            Ok(bytes) => Reading::Mib(bytes as f64 / (1024.0 * 1024.0)),
            Err(why) => Reading::Unavailable(why),
        }
    }

    pub fn mib(&self) -> Option<f64> {
        match self {
            Reading::Mib(v) => Some(*v),
            Reading::Unavailable(_) => None,
        }
    }
}

/// A figure an older version of cnn-bench did not record.
fn not_recorded() -> Reading {
    Reading::Unavailable("not recorded by the cnn-bench version that ran this benchmark".into())
}

/// Every memory figure of one benchmark, read after its measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryRecord {
    pub nvml_process_mib: Reading,
    #[serde(default = "not_recorded")]
    pub nvml_peak_mib: Reading,
    pub device_used_mib: Reading,
    pub allocator_peak_mib: Reading,
    pub peak_rss_mib: Reading,
    /// What the sampler read of every process, for
    /// [`MemoryRecord::of_process`]; not recorded (empty when read back).
    #[serde(skip)]
    pub sampled: Peaks,
}

/// Reads every figure for a benchmark that ran on `device`; `peaks` come
/// from a [`PeakSampler`].
pub fn read(device: Device, peaks: Peaks) -> MemoryRecord {
    let gpu_only = |what: &str| Reading::Unavailable(format!("{what}: a CPU benchmark"));
    let (nvml, used) = match device {
        Device::Gpu(i) => (
            Reading::from_bytes(nvml_process_bytes(i)),
            Reading::from_bytes(device_used_bytes(i)),
        ),
        Device::Cpu => (gpu_only("NVML"), gpu_only("CUDA")),
    };
    MemoryRecord {
        nvml_process_mib: nvml,
        nvml_peak_mib: peaks.of(std::process::id()),
        device_used_mib: used,
        allocator_peak_mib: Reading::Unavailable(
            "neither tch 0.24 nor candle 0.11 exposes its allocator's peak".into(),
        ),
        peak_rss_mib: Reading::from_bytes(peak_rss_bytes()),
        sampled: peaks,
    }
}

impl MemoryRecord {
    /// For steps that ran in process `pid` (`pytorch`'s worker): NVML's
    /// figure and sampled peak are that process's; what is read of this
    /// process would be small and wrong, so it is not given. (The worker
    /// outlives benchmarks run in one process, so its peak resident memory
    /// is not one benchmark's either.)
    pub fn of_process(mut self, device: Device, pid: u32) -> Self {
        let why = || {
            Reading::Unavailable(format!(
                "the steps ran in process {pid}, whose allocator and host memory are not read"
            ))
        };
        if let Device::Gpu(i) = device {
            self.nvml_process_mib = Reading::from_bytes(nvml_process_bytes_of(i, pid));
            self.nvml_peak_mib = self.sampled.of(pid);
        }
        self.allocator_peak_mib = why();
        self.peak_rss_mib = why();
        self
    }
}

/// The highest NVML reading of each process on the device while a
/// [`PeakSampler`] ran: this process's, and that of a worker that runs the
/// steps in a process of its own (`pytorch`), whose id is known only once
/// the preparation has started it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Peaks {
    by_process: BTreeMap<u32, u64>,
    /// Why there is no reading at all, or the last failed sample's error.
    why: String,
}

impl Peaks {
    fn none(why: &str) -> Self {
        Peaks {
            why: why.to_string(),
            ..Peaks::default()
        }
    }

    /// Takes one sample: each process's bytes, `None` where NVML lists a
    /// process but not its memory.
    fn sample(&mut self, processes: Result<Vec<(u32, Option<u64>)>, String>) {
        match processes {
            Ok(list) => {
                for (pid, bytes) in list {
                    if let Some(b) = bytes {
                        let peak = self.by_process.entry(pid).or_insert(b);
                        *peak = (*peak).max(b);
                    }
                }
            }
            Err(e) => self.why = e,
        }
    }

    /// The peak of process `pid`, or why there is none.
    pub fn of(&self, pid: u32) -> Reading {
        match self.by_process.get(&pid) {
            Some(&bytes) => Reading::from_bytes(Ok(bytes)),
            None if !self.why.is_empty() => Reading::Unavailable(self.why.clone()),
            None => Reading::Unavailable(format!(
                "NVML did not list process {pid} while the preparation ran"
            )),
        }
    }
}

/// Samples the GPU memory of every process on the device (NVML) every
/// millisecond on a thread of its own until [`PeakSampler::finish`],
/// keeping each process's highest reading.
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Peaks>>,
}

impl PeakSampler {
    /// Starts sampling for a benchmark on `device` (nothing to sample on the CPU).
    pub fn start(device: Device) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = match device {
            Device::Cpu => None,
            Device::Gpu(index) => {
                let stop = stop.clone();
                Some(std::thread::spawn(move || {
                    let nvml = match init_nvml() {
                        Ok(n) => n,
                        Err(e) => return Peaks::none(&e),
                    };
                    let mut peaks = Peaks::default();
                    loop {
                        let done = stop.load(Ordering::Relaxed);
                        peaks.sample(processes(&nvml, index));
                        if done {
                            return peaks;
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }))
            }
        };
        Self { stop, thread }
    }

    /// Stops sampling and returns the peaks.
    pub fn finish(mut self) -> Peaks {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            None => Peaks::none("NVML: a CPU benchmark"),
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Peaks::none("the NVML sampler panicked")),
        }
    }
}

fn init_nvml() -> Result<nvml_wrapper::Nvml, String> {
    nvml_wrapper::Nvml::init().map_err(|e| format!("NVML unavailable (no NVIDIA driver?): {e}"))
}

/// `name, driver <version>` of GPU `index`, from NVML.
pub fn gpu_description(index: usize) -> Result<String, String> {
    let nvml = init_nvml()?;
    let device = nvml
        .device_by_index(index as u32)
        .map_err(|e| format!("NVML has no GPU {index}: {e}"))?;
    let name = device.name().map_err(|e| format!("NVML: {e}"))?;
    let driver = nvml
        .sys_driver_version()
        .map_err(|e| format!("NVML: {e}"))?;
    Ok(format!("{name}, driver {driver}"))
}

/// GPU memory NVML attributes to this process on GPU `index`.
pub fn nvml_process_bytes(index: usize) -> Result<u64, String> {
    nvml_process_bytes_of(index, std::process::id())
}

/// GPU memory NVML attributes to process `pid` on GPU `index`.
/// The processes NVML lists on GPU `index` (see `contention`).
pub fn gpu_processes(index: usize) -> Result<Vec<u32>, String> {
    Ok(processes(&init_nvml()?, index)?
        .into_iter()
        .map(|(pid, _)| pid)
        .collect())
}

pub fn nvml_process_bytes_of(index: usize, pid: u32) -> Result<u64, String> {
    process_bytes(&init_nvml()?, index, pid)
}

/// Each process NVML lists on GPU `index`, with its memory where NVML gives it.
fn processes(nvml: &nvml_wrapper::Nvml, index: usize) -> Result<Vec<(u32, Option<u64>)>, String> {
    use nvml_wrapper::enums::device::UsedGpuMemory;
    let device = nvml
        .device_by_index(index as u32)
        .map_err(|e| format!("NVML has no GPU {index}: {e}"))?;
    let list = device
        .running_compute_processes()
        .map_err(|e| format!("NVML cannot list processes: {e}"))?;
    Ok(list
        .iter()
        .map(|p| match p.used_gpu_memory {
            UsedGpuMemory::Used(bytes) => (p.pid, Some(bytes)),
            UsedGpuMemory::Unavailable => (p.pid, None),
        })
        .collect())
}

fn process_bytes(nvml: &nvml_wrapper::Nvml, index: usize, pid: u32) -> Result<u64, String> {
    match processes(nvml, index)?.into_iter().find(|p| p.0 == pid) {
        Some((_, Some(bytes))) => Ok(bytes),
        Some((_, None)) => Err("NVML lists this process but not its memory".into()),
        None => Err(format!(
            "NVML does not list process {pid} on GPU {index} (no CUDA context yet, or another PID namespace)"
        )),
    }
}

/// Memory in use on CUDA device `index` (total - free), from the driver.
#[cfg(any(feature = "cuda", feature = "burn-cuda"))]
pub fn device_used_bytes(index: usize) -> Result<u64, String> {
    use cudarc::driver::CudaContext;
    let ctx = CudaContext::new(index).map_err(|e| format!("CUDA driver: {e}"))?;
    let (free, total) = ctx
        .mem_get_info()
        .map_err(|e| format!("cuMemGetInfo: {e}"))?;
    Ok((total - free) as u64)
}

/// Memory in use on CUDA device `index`: needs a CUDA build.
#[cfg(not(any(feature = "cuda", feature = "burn-cuda")))]
pub fn device_used_bytes(_index: usize) -> Result<u64, String> {
    Err(
        "built without a CUDA feature (`cuda` or `burn-cuda`), so the CUDA driver is not reachable"
            .into(),
    )
}

/// The process's peak resident set size (`VmHWM` of /proc/self/status).
pub fn peak_rss_bytes() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("/proc/self/status: {e}"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or("malformed VmHWM line")?;
    Ok(kib * 1024)
}

/// This machine's physical memory (`MemTotal` of /proc/meminfo), if it
/// can be read.
pub fn host_memory_bytes() -> Option<u64> {
    mem_total(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

fn mem_total(meminfo: &str) -> Option<u64> {
    let kib = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kib: u64 = kib.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_memory_is_meminfos_total() {
        let text = "MemTotal:       24567000 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total(text), Some(24567000 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
        assert!(host_memory_bytes().is_some_and(|b| b > 1 << 26));
    }

    #[test]
    fn peak_rss_is_positive_and_grows_with_use() {
        let before = peak_rss_bytes().unwrap();
        assert!(before > 1024 * 1024, "{before}");
        // Other tests in this process may have raised the peak and freed
        // their memory since, so a buffer only counts if it is larger than
        // the whole peak so far: touching it must lift the peak past it.
        let size = before as usize + 64 * 1024 * 1024;
        let big = vec![1u8; size];
        std::hint::black_box(&big);
        let after = peak_rss_bytes().unwrap();
        assert!(after >= size as u64, "{before} -> {after}, buffer {size}");
    }

    #[test]
    fn cpu_runs_say_why_gpu_figures_are_missing() {
        let r = read(Device::Cpu, PeakSampler::start(Device::Cpu).finish());
        assert!(matches!(&r.nvml_peak_mib, Reading::Unavailable(w) if w.contains("CPU benchmark")));
        assert!(
            matches!(&r.nvml_process_mib, Reading::Unavailable(w) if w.contains("CPU benchmark"))
        );
        assert!(r.peak_rss_mib.mib().unwrap() > 1.0);
        assert!(r.allocator_peak_mib.mib().is_none());
    }

    /// Steps run by another process (pytorch's worker): this process's
    /// peak resident memory is not passed off as theirs.
    #[test]
    fn a_worker_processs_benchmark_is_not_given_this_processs_memory() {
        let r = read(Device::Cpu, PeakSampler::start(Device::Cpu).finish())
            .of_process(Device::Cpu, 4242);
        assert!(
            matches!(&r.peak_rss_mib, Reading::Unavailable(w) if w.contains("process 4242")),
            "{r:?}"
        );
        let gpu = read(Device::Gpu(0), Peaks::none("test")).of_process(Device::Gpu(0), 4242);
        assert!(gpu.nvml_process_mib.mib().is_none() && gpu.peak_rss_mib.mib().is_none());
    }

    /// The sampler keeps every process's highest reading, so a worker's
    /// peak is its own, not this process's (which holds no tensors).
    #[test]
    fn each_process_keeps_its_own_peak_and_a_worker_gets_its_own() {
        const MIB: u64 = 1024 * 1024;
        let me = std::process::id();
        let mut peaks = Peaks::default();
        peaks.sample(Ok(vec![(me, Some(500 * MIB)), (4242, Some(1024 * MIB))]));
        peaks.sample(Ok(vec![(4242, Some(3072 * MIB)), (me, Some(400 * MIB))]));
        peaks.sample(Ok(vec![(4242, None), (me, Some(450 * MIB))]));
        peaks.sample(Err("NVML cannot list processes: busy".into()));
        assert_eq!(peaks.of(me), Reading::Mib(500.0));
        assert_eq!(peaks.of(4242), Reading::Mib(3072.0));
        // A failed sample does not hide what was read, but says why for a
        // process never read.
        assert!(
            matches!(peaks.of(7), Reading::Unavailable(w) if w.contains("busy")),
            "{:?}",
            peaks.of(7)
        );
        let r = read(Device::Gpu(0), peaks.clone());
        assert_eq!(r.nvml_peak_mib, Reading::Mib(500.0));
        let worker = r.of_process(Device::Gpu(0), 4242);
        assert_eq!(worker.nvml_peak_mib, Reading::Mib(3072.0));
        // What is written is what a report reads; the samples are not kept.
        let back: MemoryRecord =
            serde_json::from_str(&serde_json::to_string(&worker).unwrap()).unwrap();
        assert_eq!(back.nvml_peak_mib, Reading::Mib(3072.0));
        assert_eq!(back.sampled, Peaks::default());
        let mut quiet = Peaks::default();
        quiet.sample(Ok(vec![(me, Some(MIB))]));
        assert!(
            matches!(quiet.of(4242), Reading::Unavailable(w) if w.contains("did not list process 4242")),
            "{:?}",
            quiet.of(4242)
        );
    }

    #[test]
    fn without_a_driver_nvml_says_so() {
        // This machine (and CI) has no NVIDIA driver; on a GPU machine the
        // test process has no CUDA context, so NVML does not list it.
        let why = nvml_process_bytes(0).unwrap_err();
        assert!(why.contains("NVML"), "{why}");
        let peak = PeakSampler::start(Device::Gpu(0))
            .finish()
            .of(std::process::id());
        assert!(
            matches!(&peak, Reading::Unavailable(w) if w.contains("NVML")),
            "{peak:?}"
        );
    }

    #[test]
    fn readings_serialise_as_a_value_or_a_reason() {
        let json = serde_json::to_string(&Reading::Mib(1.5)).unwrap();
        assert_eq!(json, r#"{"mib":1.5}"#);
        let json = serde_json::to_string(&Reading::Unavailable("no driver".into())).unwrap();
        assert_eq!(json, r#"{"unavailable":"no driver"}"#);
    }
}
