//! The model catalogue: what `cnn-bench catalogue` prints.

use crate::identities::Framework;
use cnn_models::{analysis, model, MODELS};

/// One line per model: parameters, forward GFLOPs for one 224x224 image (a
/// multiply-add counted as 2), the smallest square input it accepts for
/// inference and for training (they differ for Inception v3), and the
/// frameworks that run it (every lowering handles every op of the
/// description, so all of them, but for those that run models of their own
/// instead; ort and tract for inference only).
pub fn table() -> String {
    let mut out = format!(
        "{:<16} {:>12} {:>11} {:>10} {:>10}  frameworks\n",
        "model", "parameters", "GFLOPs@224", "min infer", "min train"
    );
    for name in MODELS {
        let g = model(name).expect("listed models build");
        let flops = analysis::forward_flops(&g, 224).expect("every model takes 224x224");
        let [infer, train] = [false, true]
            .map(|t| analysis::min_input_size(&g, t))
            .map(|m| format!("{m}x{m}"));
        out += &format!(
            "{:<16} {:>12} {:>11.2} {:>10} {:>10}  {}\n",
            name,
            analysis::parameter_count(&g),
            flops as f64 / 1e9,
            infer,
            train,
            Framework::ALL
                .into_iter()
                .filter(|f| f.has_model(name))
                .map(Framework::name)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_every_model_once_with_its_figures() {
        let t = super::table();
        assert_eq!(t.lines().count(), 1 + cnn_models::MODELS.len());
        let resnet18 = t.lines().find(|l| l.starts_with("resnet18 ")).unwrap();
        // torchvision: 11689512 parameters, 1.814 GMACs (3.628 GFLOPs) at 224
        let cols: Vec<&str> = resnet18.split_whitespace().collect();
        assert_eq!(cols[1], "11689512");
        let gflops: f64 = cols[2].parse().unwrap();
        assert!((gflops / 3.628 - 1.0).abs() < 0.01, "{resnet18}");
        // five 2x2 max pools without padding need at least 32x32
        let vgg16 = t.lines().find(|l| l.starts_with("vgg16 ")).unwrap();
        assert_eq!(vgg16.split_whitespace().nth(3), Some("32x32"), "{vgg16}");
        assert!(
            resnet18.ends_with(
                "tch, tch-jit, candle, ort, tract, pytorch, tch-vision, candle-transformers, tensorflow, burn"
            ),
            "{resnet18}"
        );
    }
}
