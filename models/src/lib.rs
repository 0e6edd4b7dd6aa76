//! Every network of the benchmark, described once in framework-neutral form
//! ([`Graph`]) and lowered to each framework by a small interpreter
//! (`tch.rs`, `candle.rs`, `tensorflow/`, `burn.rs`, each behind the cargo feature of the same name).
//!
//! Parameter names equal torchvision's `state_dict` keys, so weights exported
//! from torchvision load unchanged into every framework.

pub mod analysis;
pub mod builder;
pub mod densenet;
pub mod efficientnet;
pub mod graph;
pub mod inception;
pub mod mobilenet;
pub mod resnet;
pub mod vgg;
pub mod walk;
pub mod weights;

#[cfg(feature = "burn")]
pub mod burn;
#[cfg(feature = "candle")]
pub mod candle;
#[cfg(feature = "onnx")]
pub mod onnx;
#[cfg(feature = "tch")]
pub mod tch;
#[cfg(feature = "tensorflow")]
pub mod tensorflow;

pub use graph::{Graph, Op, Path};
pub use weights::Weights;

/// Every model the crate describes, by its benchmark name.
pub const MODELS: &[&str] = &[
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "vgg16",
    "vgg19",
    "mobilenetv2",
    "efficientnetb0",
    "efficientnetb1",
    "efficientnetb2",
    "efficientnetb3",
    "efficientnetb4",
    "efficientnetb5",
    "efficientnetb6",
    "efficientnetb7",
    "densenet121",
    "densenet169",
    "densenet201",
    "inception_v3",
];

/// The description of a model, or an error listing the valid names.
pub fn model(name: &str) -> anyhow::Result<Graph> {
    Ok(match name {
        "resnet18" => resnet::resnet18(),
        "resnet34" => resnet::resnet34(),
        "resnet50" => resnet::resnet50(),
        "resnet101" => resnet::resnet101(),
        "resnet152" => resnet::resnet152(),
        "vgg16" => vgg::vgg16(),
        "vgg19" => vgg::vgg19(),
        "mobilenetv2" => mobilenet::mobilenetv2(),
        "densenet121" => densenet::densenet121(),
        "densenet169" => densenet::densenet169(),
        "densenet201" => densenet::densenet201(),
        "inception_v3" => inception::inception_v3(),
        _ => match name
            .strip_prefix("efficientnetb")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) if n <= 7 => efficientnet::efficientnet_b(n),
            _ => anyhow::bail!(
                "unknown model `{name}`; valid models: {}",
                MODELS.join(", ")
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_model_builds_and_unknown_names_are_refused() {
        for name in MODELS {
            let g = model(name).unwrap();
            assert_eq!(&g.name, name);
            assert_eq!(analysis::output_shape(&g, 224).unwrap(), vec![1000]);
        }
        let err = model("resnet19").unwrap_err().to_string();
        assert!(
            err.contains("unknown model `resnet19`") && err.contains("efficientnetb7"),
            "{err}"
        );
    }

    #[test]
    fn names_follow_torchvision() {
        let names: Vec<String> = model("resnet50")
            .unwrap()
            .tensors()
            .map(|(n, _)| n)
            .collect();
        assert!(names.contains(&"layer1.0.downsample.1.running_var".to_string()));
        assert!(names.contains(&"layer4.2.conv3.weight".to_string()));
        let names: Vec<String> = model("mobilenetv2")
            .unwrap()
            .tensors()
            .map(|(n, _)| n)
            .collect();
        assert!(names.contains(&"features.1.conv.0.0.weight".to_string()));
        assert!(names.contains(&"features.2.conv.3.bias".to_string()));
        assert!(names.contains(&"classifier.1.weight".to_string()));
    }

    #[test]
    fn too_small_inputs_are_refused_with_the_layer_named() {
        let err = analysis::shapes(&model("vgg16").unwrap(), 16)
            .unwrap_err()
            .to_string();
        assert!(err.contains("16x16 input is too small"), "{err}");
        assert_eq!(
            analysis::min_input_size(&model("vgg16").unwrap(), false),
            32
        );
    }
}
