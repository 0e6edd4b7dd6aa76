//! Every model, in every framework, against torchvision: same parameter
//! count, same FLOPs as torchvision's own figure, and with the same weights
//! the same eval-mode logits (relative error under 1e-4 in f32).

mod common;

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

/// Runs `forward` on every model with torchvision's weights and input and
/// checks the logits.
fn check_logits(
    framework: &str,
    forward: impl Fn(&cnn_models::Graph, &Weights, &common::Expected) -> Vec<f32>,
) {
    let mut failures = Vec::new();
    for name in MODELS {
        let g = model(name).unwrap();
        let weights = Weights::from_safetensors(&g, &weights_path(name)).unwrap();
        let exp = expected(name);
        let logits = forward(&g, &weights, &exp["input"]);
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
    use tch::Tensor;
    check_logits("tch", |g, w, input| {
        let m = cnn_models::tch::TchModel::new(g, w, tch::Device::Cpu).unwrap();
        let shape: Vec<i64> = input.shape.iter().map(|&d| d as i64).collect();
        let x = Tensor::from_slice(&input.data).reshape(&shape);
        let y = tch::no_grad(|| m.forward_t(&x, false));
        assert_eq!(y.size(), [shape[0], 1000]);
        Vec::<f32>::try_from(y.flatten(0, -1)).unwrap()
    });
}

#[test]
fn candle_logits_match_torchvision() {
    use candle_core::{Device, Tensor};
    check_logits("candle", |g, w, input| {
        let m = cnn_models::candle::CandleModel::new(g, w, &Device::Cpu).unwrap();
        let x = Tensor::from_slice(&input.data, input.shape.as_slice(), &Device::Cpu).unwrap();
        let y = m.forward_t(&x, false).unwrap();
        assert_eq!(y.dims(), [input.shape[0], 1000]);
        y.flatten_all().unwrap().to_vec1().unwrap()
    });
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
