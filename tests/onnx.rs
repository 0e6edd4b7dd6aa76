//! The ONNX export, checked by ONNX's own tooling: every model's file passes
//! `onnx.checker` with its full check (strict shape inference included), and
//! shape inference gives the declared `[batch, 1000]` logits. That the files
//! compute torchvision's logits is `parity.rs`'s job (ort and tract).

mod common;

use cnn_models::{model, onnx, Weights, MODELS};
use std::path::PathBuf;
use std::process::Command;

const CHECK: &str = r#"
import sys, onnx
for path in sys.argv[1:]:
    onnx.checker.check_model(path, full_check=True)
    m = onnx.shape_inference.infer_shapes(onnx.load(path), strict_mode=True)
    assert m.opset_import[0].version >= 17, path
    out = m.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in out] == ["batch", 1000], (path, out)
    print("onnx.checker: ok", path)
"#;

#[test]
fn every_exported_model_passes_the_onnx_checker() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("onnx-export");
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = Vec::new();
    for name in MODELS {
        let g = model(name).unwrap();
        let size = if *name == "inception_v3" { 80 } else { 64 };
        let bytes = onnx::export(&g, &Weights::random(&g, 7), size).unwrap();
        let path = dir.join(format!("{name}-{size}.onnx"));
        std::fs::write(&path, bytes).unwrap();
        paths.push(path);
    }
    let out = Command::new(common::python())
        .arg("-c")
        .arg(CHECK)
        .args(&paths)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "onnx.checker refused an export:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.matches("onnx.checker: ok").count(),
        MODELS.len(),
        "{stdout}"
    );
    for p in paths {
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
fn a_broken_export_is_refused_by_the_checker() {
    // The check above can fail: a Conv whose weight is missing is refused.
    let g = model("resnet18").unwrap();
    let mut m = onnx::model_proto(&g, &Weights::random(&g, 7), 64).unwrap();
    let graph = m.graph.as_mut().unwrap();
    graph.initializer.retain(|t| t.name != "conv1.weight");
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("broken.onnx");
    std::fs::write(&path, prost::Message::encode_to_vec(&m)).unwrap();
    let out = Command::new(common::python())
        .arg("-c")
        .arg(CHECK)
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a missing weight went unnoticed");
}

#[test]
fn batch_norms_after_a_convolution_are_folded_as_torch_onnx_export_does() {
    // Counted per op type: resnet18's 20 batch norms each follow a
    // convolution read by nothing else, and all go; densenet121's dense
    // layers normalise a concatenation first, and those stay.
    let count = |name: &str, op: &str| {
        let g = model(name).unwrap();
        let m = onnx::model_proto(&g, &Weights::random(&g, 7), 64).unwrap();
        let nodes = m.graph.unwrap().node;
        nodes.iter().filter(|n| n.op_type == op).count()
    };
    assert_eq!(count("resnet18", "BatchNormalization"), 0);
    assert_eq!(count("resnet18", "Conv"), 20);
    let kept = count("densenet121", "BatchNormalization");
    assert!(kept > 0 && kept < 121, "{kept}");
}
