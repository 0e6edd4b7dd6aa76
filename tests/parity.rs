//! Every model, in every framework, against torchvision: same parameter
//! count, same FLOPs as torchvision's own figure, and with the same weights
//! the same eval-mode logits (relative error under 1e-4 in f32). ort and
//! tract run the model exported to ONNX, so their tests check the export too.

mod common;

use cnn_bench::grid::{Device, Phase};
use cnn_bench::inputs::Batch;
use cnn_models::{analysis, model, Weights, MODELS};
use common::{expected, meta, relative_error, weights_path};

const TOLERANCE: f64 = 1e-4;

#[test]
fn parameter_counts_equal_torchvision() {
    let meta = meta();
    for name in MODELS {
        let g = model(name).unwrap();
        let theirs = meta[name]["parameters"].as_u64().unwrap();
        assert_eq!(analysis::parameter_count(&g) as u64, theirs, "{name}");
    }
}

#[test]
fn flops_agree_with_torchvision_ops() {
    // torchvision's `_ops` is GMACs at the weights' own crop size.
    let meta = meta();
    for name in MODELS {
        let g = model(name).unwrap();
        let size = meta[name]["ops_size"].as_u64().unwrap() as usize;
        let theirs = meta[name]["gmacs"].as_f64().unwrap();
        let ours = analysis::forward_flops(&g, size).unwrap() as f64 / 2e9;
        let rel = (ours - theirs).abs() / theirs;
        assert!(
            rel < 0.01,
            "{name} at {size}: {ours:.3} GMACs here, torchvision says {theirs}"
        );
    }
}

/// Checks `framework`'s eval-mode logits for every model, with
/// torchvision's weights and input, through the adapter the benchmarks use
/// (its prepared inference step).
fn check_logits(framework: &str) {
    let fw = cnn_bench::frameworks::framework(framework).unwrap();
    let mut failures = Vec::new();
    // A framework with models of its own is checked on those.
    for name in MODELS.iter().filter(|m| fw.id().has_model(m)) {
        let g = model(name).unwrap();
        let weights = Weights::from_safetensors(&g, &weights_path(name)).unwrap();
        let exp = expected(name);
        let input = &exp["input"];
        let batch = Batch {
            batch: input.shape[0],
            size: input.shape[2],
            images: input.data.clone(),
            labels: vec![0; input.shape[0]],
        };
        let logits = fw
            .prepare(&cnn_bench::frameworks::Job {
                graph: &g,
                weights: &weights,
                device: Device::Cpu,
                phase: Phase::Inference,
                batches: &[batch],
            })
            .and_then(|mut step| step.logits())
            .unwrap_or_else(|e| panic!("{framework} {name}: {e:#}"));
        assert_eq!(logits.len(), input.shape[0] * 1000, "{framework} {name}");
        let err = relative_error(&logits, &exp["logits"].data);
        eprintln!("{framework} {name}: relative error {err:.2e}");
        if err >= TOLERANCE {
            failures.push(format!("{name}: {err:.2e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{framework} logits differ from torchvision's: {failures:?}"
    );
}

#[test]
fn tch_logits_match_torchvision() {
    check_logits("tch");
}

#[test]
fn tch_jit_logits_match_torchvision() {
    check_logits("tch-jit");
}

#[test]
fn candle_logits_match_torchvision() {
    check_logits("candle");
}

#[test]
fn ort_logits_match_torchvision() {
    check_logits("ort");
}

#[test]
fn tract_logits_match_torchvision() {
    check_logits("tract");
}

/// tch's hand-written `tch::vision` models, given torchvision's weights by
/// name.
#[test]
fn tch_vision_logits_match_torchvision() {
    check_logits("tch-vision");
}

/// candle-transformers' hand-written resnets, given torchvision's weights
/// by name.
#[test]
fn candle_transformers_logits_match_torchvision() {
    check_logits("candle-transformers");
}

/// PyTorch from Python through its adapter: torchvision's own model, given
/// the weights and input the way every benchmark gives them.
#[test]
fn pytorch_logits_match_torchvision() {
    check_logits("pytorch");
}

/// TensorFlow's graph mode through its C API, on our graph lowered to
/// TensorFlow's ops (NHWC).
#[test]
fn tensorflow_logits_match_torchvision() {
    check_logits("tensorflow");
}

/// burn on its Flex CPU backend, on our graph lowered to burn-nn's modules
/// and burn's tensor ops.
#[test]
fn burn_logits_match_torchvision() {
    check_logits("burn");
}

#[test]
fn every_framework_has_its_parity_test() {
    let text = include_str!("parity.rs");
    for fw in cnn_bench::identities::Framework::ALL {
        let test = format!(
            "fn {}_logits_match_torchvision()",
            fw.name().replace('-', "_")
        );
        assert!(text.contains(&test), "no parity test for {fw}");
    }
}

#[test]
fn a_slightly_changed_layer_fails_the_parity_check() {
    // The tolerance must catch real mistakes: one batch norm with eps 1e-3
    // instead of torchvision's 1e-5 changes the logits by more than 1e-4.
    let mut g = model("resnet18").unwrap();
    let weights = Weights::from_safetensors(&g, &weights_path("resnet18")).unwrap();
    let bn = g
        .nodes
        .iter_mut()
        .find(|n| n.path.as_str() == "layer3.0.bn1")
        .unwrap();
    let cnn_models::Op::BatchNorm2d { eps, .. } = &mut bn.op else {
        panic!("layer3.0.bn1 is a batch norm")
    };
    *eps = 1e-3;
    let exp = expected("resnet18");
    let m = cnn_models::tch::TchModel::new(&g, &weights, tch::Device::Cpu).unwrap();
    let x = tch::Tensor::from_slice(&exp["input"].data).reshape([2, 3, 64, 64]);
    let y = Vec::<f32>::try_from(tch::no_grad(|| m.forward_t(&x, false)).flatten(0, -1)).unwrap();
    let err = relative_error(&y, &exp["logits"].data);
    assert!(err > TOLERANCE, "a changed eps went unnoticed: {err:.2e}");
}
