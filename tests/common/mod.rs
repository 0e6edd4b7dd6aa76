//! torchvision's reference outputs, produced once per test run by
//! `tests/torchvision_reference.py` with the Python environment `make setup`
//! installs (`$TORCHVISION_PYTHON`).

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/torchvision_reference.py"
);

/// The folder holding the references for every model, generated on first use
/// and kept (under `target/`) for as long as the script is unchanged.
pub fn reference_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = std::fs::read(SCRIPT).expect("reading the reference script");
        let version = script.iter().fold(0xcbf29ce484222325u64, |h, &b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        });
        let dir = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/torchvision-reference"
        ))
        .join(format!("{version:016x}"));
        if !dir.join("meta.json").exists() {
            let python = python();
            eprintln!("writing torchvision references to {} ...", dir.display());
            let status = Command::new(&python)
                .arg(SCRIPT)
                .arg(&dir)
                .status()
                .unwrap_or_else(|e| panic!("cannot run {python} (run `make setup`): {e}"));
            assert!(status.success(), "{SCRIPT} failed: {status}");
        }
        dir
    })
}

/// The Python that `make setup` installs torchvision and onnx into.
pub fn python() -> String {
    std::env::var("TORCHVISION_PYTHON")
        .expect("TORCHVISION_PYTHON is unset: run the tests as the README says (`make test`)")
}

/// Parameter count and GMACs torchvision reports for each model.
pub fn meta() -> serde_json::Value {
    let text = std::fs::read_to_string(reference_dir().join("meta.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The torchvision weights of `model`.
pub fn weights_path(model: &str) -> PathBuf {
    reference_dir().join(format!("{model}.safetensors"))
}

/// A reference tensor: shape and values as f32 (integers converted).
pub struct Expected {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// `input`, `logits`, `labels` and (for trained models) `loss` of `model`.
pub fn expected(model: &str) -> HashMap<String, Expected> {
    let bytes =
        std::fs::read(reference_dir().join(format!("{model}.expected.safetensors"))).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            let data = match view.dtype() {
                safetensors::Dtype::F32 => view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect(),
                safetensors::Dtype::I64 => view
                    .data()
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f32)
                    .collect(),
                other => panic!("unexpected dtype {other:?} for {name}"),
            };
            (
                name,
                Expected {
                    shape: view.shape().to_vec(),
                    data,
                },
            )
        })
        .collect()
}

/// `max |a - b| / max |b|`: the error relative to the reference's scale,
/// which stays meaningful where single logits are near zero.
pub fn relative_error(actual: &[f32], reference: &[f32]) -> f64 {
    assert_eq!(actual.len(), reference.len(), "output sizes differ");
    let scale = reference.iter().fold(0f64, |m, &v| m.max((v as f64).abs()));
    let diff = actual
        .iter()
        .zip(reference)
        .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
    assert!(actual.iter().all(|v| v.is_finite()), "non-finite output");
    diff / scale.max(f64::MIN_POSITIVE)
}
