//! The identities every part of the harness shares: where a step runs and
//! what it does. Depends on nothing else in the crate.

use std::fmt;

/// Where a step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Device {
    Cpu,
    /// A CUDA device, by index.
    Gpu(usize),
}

/// What a step does; both are defined in docs/methodology.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Train,
    Inference,
}

pub const DEVICES: &[&str] = &["cpu", "gpu"];
pub const PHASES: &[&str] = &["train", "inference"];

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Device::Cpu => "cpu",
            Device::Gpu(_) => "gpu",
        })
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Phase::Train => "train",
            Phase::Inference => "inference",
        })
    }
}
