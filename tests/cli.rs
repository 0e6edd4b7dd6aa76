//! The command line refuses bad input with exit status 2 and a message that
//! lists the valid choices.

use std::process::Command;

fn grid(vars: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cnn-bench"));
    cmd.arg("grid");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap(),
        text(out.stdout),
        text(out.stderr),
    )
}

#[test]
fn the_default_grid_is_printed() {
    let (code, out, _) = grid(&[]);
    assert_eq!(code, 0);
    assert!(out.contains("21 groups, 1092 benchmarks"), "{out}");
}

#[test]
fn unknown_model_or_framework_exits_with_2() {
    let (code, _, err) = grid(&[("CNN_BENCH_MODELS", "resnet18,alexnet")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown model `alexnet`; valid models: resnet18"),
        "{err}"
    );
    let (code, _, err) = grid(&[("CNN_BENCH_FRAMEWORKS", "jax")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown framework `jax`; valid frameworks: tch, tch-jit, candle, ort, tract"),
        "{err}"
    );
}

#[test]
fn a_missing_or_malformed_config_exits_with_2() {
    let (code, _, err) = grid(&[("CNN_BENCH_CONFIG", "/nonexistent/cnn-bench.toml")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("reading the grid config /nonexistent/cnn-bench.toml"),
        "{err}"
    );
    let path =
        std::env::temp_dir().join(format!("cnn-bench-malformed-{}.toml", std::process::id()));
    std::fs::write(&path, "models = [").unwrap();
    let (code, _, err) = grid(&[("CNN_BENCH_CONFIG", path.to_str().unwrap())]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code, 2);
    assert!(err.contains("malformed grid config"), "{err}");
}
