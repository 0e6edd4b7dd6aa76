//! The identities every part of the harness shares: the frameworks, where
//! a step runs, what it does, what is measured and how a benchmark ended.
//! Serialised by name in the records. Depends on nothing else in the crate.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a step runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Device {
    #[default]
    Cpu,
    /// A CUDA device, by index.
    Gpu(usize),
}

/// What a step does; both are defined in docs/methodology.md.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Train,
    #[default]
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

/// A framework the harness benchmarks, by the name used in benchmark ids,
/// configs, records and reports (`tch-jit`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    /// libtorch, op by op from Rust (PyTorch's eager mode).
    #[default]
    Tch,
    /// The same model traced to TorchScript, run by libtorch's graph executor.
    TchJit,
    Candle,
    /// ONNX Runtime on the exported ONNX model.
    Ort,
    /// tract on the exported ONNX model.
    Tract,
    /// PyTorch from Python on torchvision's model: the reference column.
    Pytorch,
    /// tch's own hand-written models (`tch::vision`) on libtorch: what our
    /// interpreter (`tch`) is measured against.
    TchVision,
    /// candle-transformers' own hand-written models on candle: what our
    /// interpreter on candle (`candle`) is measured against.
    CandleTransformers,
    /// TensorFlow's graph mode through its C API (the `tensorflow` crate),
    /// on the CPU.
    Tensorflow,
    /// burn on its own backends: Flex on the CPU, CubeCL's CUDA on a GPU.
    Burn,
}

impl Framework {
    /// Every framework, in the tables' order.
    pub const ALL: [Framework; 10] = [
        Framework::Tch,
        Framework::TchJit,
        Framework::Candle,
        Framework::Ort,
        Framework::Tract,
        Framework::Pytorch,
        Framework::TchVision,
        Framework::CandleTransformers,
        Framework::Tensorflow,
        Framework::Burn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Framework::Tch => "tch",
            Framework::TchJit => "tch-jit",
            Framework::Candle => "candle",
            Framework::Ort => "ort",
            Framework::Tract => "tract",
            Framework::Pytorch => "pytorch",
            Framework::TchVision => "tch-vision",
            Framework::CandleTransformers => "candle-transformers",
            Framework::Tensorflow => "tensorflow",
            Framework::Burn => "burn",
        }
    }

    /// The framework called `name`, or an error listing the valid names.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                let valid: Vec<&str> = Self::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown framework `{name}`; valid frameworks: {}",
                    valid.join(", ")
                )
            })
    }

    /// Why it cannot use `device` on any machine, when it cannot: the ONNX
    /// engines run on the CPU only here. (Whether a device it can use is
    /// present in this build and machine is its adapter's `device_present`.)
    pub fn lacks_device(self, device: Device) -> Option<&'static str> {
        match (self, device) {
            (Framework::Ort, Device::Gpu(_)) => Some(
                "the ONNX Runtime `make setup` installs (PyPI `onnxruntime`) has only the CPU execution provider",
            ),
            (Framework::Tract, Device::Gpu(_)) => Some("tract runs on the CPU only"),
            (Framework::Tensorflow, Device::Gpu(_)) => Some(
                "the TensorFlow `make setup` installs (PyPI `tensorflow-cpu`) has no CUDA",
            ),
            _ => None,
        }
    }

    /// The models it has a definition of its own for, when it runs its own
    /// rather than cnn-models' description (every model otherwise).
    pub fn own_models(self) -> Option<&'static [&'static str]> {
        match self {
            // tch::vision's VGG has no adaptive pool (224x224 inputs only)
            // and its EfficientNet other parameter names: left out.
            Framework::TchVision => Some(&[
                "resnet18",
                "resnet34",
                "resnet50",
                "resnet101",
                "resnet152",
                "mobilenetv2",
            ]),
            // Its VGG is timm's (other names, a ReLU on the logits), its
            // EfficientNet pads as TensorFlow does ("same"), and it has no
            // MobileNetV2, DenseNet or Inception: left out.
            Framework::CandleTransformers => {
                Some(&["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"])
            }
            _ => None,
        }
    }

    /// Whether it can run `model` at all (see [`Framework::own_models`]).
    pub fn has_model(self, model: &str) -> bool {
        self.own_models().is_none_or(|m| m.contains(&model))
    }

    /// Why it has no `phase` step, when it has none: the inference engines
    /// do not train.
    pub fn lacks(self, phase: Phase) -> Option<&'static str> {
        match (self, phase) {
            (Framework::Ort, Phase::Train) => {
                Some("ONNX Runtime's inference sessions do not train")
            }
            (Framework::Tract, Phase::Train) => {
                Some("tract is an inference engine: it does not train")
            }
            (Framework::CandleTransformers, Phase::Train) => Some(
                "candle-transformers' models are inference-only: no train mode (batch norm always in eval mode)",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What criterion's value is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Seconds per step, device synchronised (values in nanoseconds).
    #[default]
    Time,
    /// The process's GPU memory after the steps, as NVML reports it (MiB).
    Memory,
}

/// How a benchmark ended: measured (by criterion or as an estimate), or
/// failed, with the reason in the record beside it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Ok,
    Failed,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
        })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Metric::Time => "time",
            Metric::Memory => "memory",
        })
    }
}

impl Device {
    /// `cpu`, or `gpu` and the CUDA index (`gpu0`): how records name it.
    pub fn id(self) -> String {
        match self {
            Device::Cpu => "cpu".into(),
            Device::Gpu(i) => format!("gpu{i}"),
        }
    }

    pub fn is_gpu(self) -> bool {
        matches!(self, Device::Gpu(_))
    }
}

impl Serialize for Device {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.id())
    }
}

impl<'de> Deserialize<'de> for Device {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "cpu" => Ok(Device::Cpu),
            gpu => gpu
                .strip_prefix("gpu")
                .and_then(|i| i.parse().ok())
                .map(Device::Gpu)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown device `{s}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_keep_the_names_records_already_hold() {
        let names: Vec<&str> = Framework::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            [
                "tch",
                "tch-jit",
                "candle",
                "ort",
                "tract",
                "pytorch",
                "tch-vision",
                "candle-transformers",
                "tensorflow",
                "burn"
            ]
        );
        for f in Framework::ALL {
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.name()));
            assert_eq!(Framework::parse(f.name()), Ok(f));
        }
        assert_eq!(
            Framework::parse("jax").unwrap_err(),
            "unknown framework `jax`; valid frameworks: tch, tch-jit, candle, ort, tract, pytorch, tch-vision, candle-transformers, tensorflow, burn"
        );
        let d: Device = serde_json::from_str("\"gpu1\"").unwrap();
        assert_eq!(
            (d, serde_json::to_string(&d).unwrap()),
            (Device::Gpu(1), "\"gpu1\"".into())
        );
        assert!(serde_json::from_str::<Device>("\"tpu\"").is_err());
        assert_eq!(
            serde_json::to_string(&Phase::Inference).unwrap(),
            "\"inference\""
        );
        assert_eq!(
            serde_json::from_str::<Status>("\"failed\"").unwrap(),
            Status::Failed
        );
        assert_eq!(
            serde_json::to_string(&Metric::Memory).unwrap(),
            "\"memory\""
        );
    }
}
