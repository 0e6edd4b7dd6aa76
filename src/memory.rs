//! Memory readings recorded beside each benchmark's timing. A reading is a
//! number or the reason there is none: a missing figure never appears as 0.
//!
//! - `nvml_process_mib`: GPU memory NVML attributes to this process after
//!   the measurement, what nvidia-smi shows and what the study measured
//!   (includes the CUDA context and whatever a caching allocator keeps:
//!   libtorch's keeps its peak, candle's frees buffers as it goes);
//! - `nvml_peak_mib`: the highest NVML reading, sampled every millisecond
//!   while the two preparation steps ran: the peak for allocators that free
//!   eagerly too;
//! - `device_used_mib`: memory in use on the whole device (total - free),
//!   from the CUDA driver (`cuMemGetInfo`), other processes included;
//! - `allocator_peak_mib`: the framework allocator's own peak, where the
//!   framework exposes one (neither tch 0.24 nor candle 0.11 does: recorded
//!   as unavailable with that reason);
//! - `peak_rss_mib`: the process's peak resident memory (`VmHWM`), for CPU
//!   runs; per configuration only when each runs in its own process.

use crate::grid::Device;
use serde::{Deserialize, Serialize};
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
}

/// Reads every figure for a benchmark that ran on `device`; `peak` comes
/// from a [`PeakSampler`].
pub fn read(device: Device, peak: Reading) -> MemoryRecord {
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
        nvml_peak_mib: peak,
        device_used_mib: used,
        allocator_peak_mib: Reading::Unavailable(
            "neither tch 0.24 nor candle 0.11 exposes its allocator's peak".into(),
        ),
        peak_rss_mib: Reading::from_bytes(peak_rss_bytes()),
    }
}

impl MemoryRecord {
    /// For steps that ran in process `pid` (`pytorch`'s worker): NVML's
    /// figure is that process's; what is sampled or read in this process
    /// would be small and wrong, so it is not given. (The worker outlives
    /// benchmarks run in one process, so its peak resident memory is not
    /// one benchmark's either.)
    pub fn of_process(mut self, device: Device, pid: u32) -> Self {
        let why = || {
            Reading::Unavailable(format!(
                "the steps ran in process {pid}, which is not sampled"
            ))
        };
        if let Device::Gpu(i) = device {
            self.nvml_process_mib = Reading::from_bytes(nvml_process_bytes_of(i, pid));
            self.nvml_peak_mib = why();
        }
        self.allocator_peak_mib = why();
        self.peak_rss_mib = why();
        self
    }
}

/// Samples this process's GPU memory (NVML) every millisecond on a thread
/// of its own until [`PeakSampler::finish`], keeping the highest reading.
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<u64, String>>>,
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
                    let nvml = init_nvml()?;
                    let mut peak: Option<u64> = None;
                    let mut last_err = String::new();
                    loop {
                        let done = stop.load(Ordering::Relaxed);
                        match process_bytes(&nvml, index, std::process::id()) {
                            Ok(b) => peak = Some(peak.map_or(b, |p| p.max(b))),
                            Err(e) => last_err = e,
                        }
                        if done {
                            return peak.ok_or(last_err);
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }))
            }
        };
        Self { stop, thread }
    }

    /// Stops sampling and returns the peak.
    pub fn finish(mut self) -> Reading {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            None => Reading::Unavailable("NVML: a CPU benchmark".into()),
            Some(t) => Reading::from_bytes(
                t.join()
                    .unwrap_or_else(|_| Err("the NVML sampler panicked".into())),
            ),
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
pub fn nvml_process_bytes_of(index: usize, pid: u32) -> Result<u64, String> {
    process_bytes(&init_nvml()?, index, pid)
}

fn process_bytes(nvml: &nvml_wrapper::Nvml, index: usize, pid: u32) -> Result<u64, String> {
    use nvml_wrapper::enums::device::UsedGpuMemory;
    let device = nvml
        .device_by_index(index as u32)
        .map_err(|e| format!("NVML has no GPU {index}: {e}"))?;
    let processes = device
        .running_compute_processes()
        .map_err(|e| format!("NVML cannot list processes: {e}"))?;
    match processes.iter().find(|p| p.pid == pid).map(|p| &p.used_gpu_memory) {
        Some(UsedGpuMemory::Used(bytes)) => Ok(*bytes),
        Some(UsedGpuMemory::Unavailable) => Err("NVML lists this process but not its memory".into()),
        None => Err(format!(
            "NVML does not list process {pid} on GPU {index} (no CUDA context yet, or another PID namespace)"
        )),
    }
}

/// Memory in use on CUDA device `index` (total - free), from the driver.
#[cfg(feature = "cuda")]
pub fn device_used_bytes(index: usize) -> Result<u64, String> {
    use cudarc::driver::CudaContext;
    let ctx = CudaContext::new(index).map_err(|e| format!("CUDA driver: {e}"))?;
    let (free, total) = ctx
        .mem_get_info()
        .map_err(|e| format!("cuMemGetInfo: {e}"))?;
    Ok((total - free) as u64)
}

/// Memory in use on CUDA device `index`: needs the CUDA build.
#[cfg(not(feature = "cuda"))]
pub fn device_used_bytes(_index: usize) -> Result<u64, String> {
    Err("built without the `cuda` feature, so the CUDA driver is not linked".into())
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let gpu = read(Device::Gpu(0), Reading::Unavailable("test".into()))
            .of_process(Device::Gpu(0), 4242);
        assert!(gpu.nvml_process_mib.mib().is_none() && gpu.peak_rss_mib.mib().is_none());
    }

    #[test]
    fn without_a_driver_nvml_says_so() {
        // This machine (and CI) has no NVIDIA driver; on a GPU machine the
        // test process has no CUDA context, so NVML does not list it.
        let why = nvml_process_bytes(0).unwrap_err();
        assert!(why.contains("NVML"), "{why}");
        let peak = PeakSampler::start(Device::Gpu(0)).finish();
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
