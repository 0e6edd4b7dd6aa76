//! The grid's configuration: the defaults are the study's, profiles and
//! variables override the file, and a misspelt name, a malformed file or an
//! input a model cannot take is refused with the valid choices.

use anyhow::Result;
use cnn_bench::grid::{Device, Framework, Grid, Isolate, Malloc, Phase};
use std::collections::BTreeMap;
use std::path::Path;

const CONFIG: &str = include_str!("../cnn-bench.toml");

fn grid(vars: &[(&str, &str)]) -> Result<Grid> {
    let vars = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Grid::from_parts(CONFIG, Path::new("cnn-bench.toml"), &vars)
}

fn err(vars: &[(&str, &str)]) -> String {
    format!("{:#}", grid(vars).unwrap_err())
}

#[test]
fn defaults_are_the_studys_grid() {
    let g = grid(&[]).unwrap();
    let study = [
        "resnet18",
        "resnet50",
        "resnet152",
        "vgg16",
        "mobilenetv2",
        "efficientnetb4",
        "efficientnetb7",
    ];
    assert_eq!(g.models, study);
    assert_eq!(g.sizes, [128, 224, 320]);
    assert_eq!(g.batches, [1, 8, 16, 32]);
    assert_eq!(g.frameworks, Framework::ALL);
    let runs = [
        (Device::Gpu(0), Phase::Train),
        (Device::Gpu(0), Phase::Inference),
        (Device::Cpu, Phase::Inference),
    ];
    assert_eq!(g.runs, runs);
    assert_eq!(g.groups().len(), 7 * 3);
    assert_eq!(g.cases().len(), 10 * 3 * 4);
    assert!(g.threads >= 1);
    // Interleaved: every framework at one input before the next input.
    let first: Vec<_> = g.cases()[..11]
        .iter()
        .map(|c| (c.framework, c.size, c.batch))
        .collect();
    let mut expected: Vec<_> = Framework::ALL.iter().map(|&f| (f, 128, 1)).collect();
    expected.push((Framework::ALL[0], 128, 8));
    assert_eq!(first, expected);
}

#[test]
fn profile_then_environment_override_the_file() {
    let g = grid(&[
        ("CNN_BENCH_PROFILE", "quick"),
        ("CNN_BENCH_BATCHES", "2, 4"),
        ("CNN_BENCH_GPU", "1"),
    ])
    .unwrap();
    assert_eq!(g.sizes, [128]);
    assert_eq!(g.batches, [2, 4]);
    assert_eq!(g.runs, [(Device::Cpu, Phase::Inference)]);
    assert_eq!(g.target_seconds, 1.0);
    let g = grid(&[
        ("CNN_BENCH_RUNS", "gpu/train"),
        ("CNN_BENCH_GPU", "1"),
        ("CNN_BENCH_THREADS", "3"),
    ])
    .unwrap();
    assert_eq!(g.runs, [(Device::Gpu(1), Phase::Train)]);
    assert_eq!(g.threads, 3);
    assert_eq!(g.isolate, Isolate::Gpu);
    let g = grid(&[("CNN_BENCH_ISOLATE", "all")]).unwrap();
    assert!(g.isolate.applies(Device::Cpu));
    // Said by its name, as it is set (not `All`).
    assert!(
        g.describe()
            .contains("isolate:    all (a process of its own for each benchmark)"),
        "{}",
        g.describe()
    );
    let none = grid(&[("CNN_BENCH_ISOLATE", "none")]).unwrap();
    assert!(
        none.describe()
            .contains("isolate:    none (every benchmark in the harness's process)"),
        "{}",
        none.describe()
    );
    for i in Isolate::ALL {
        assert_eq!(Isolate::parse(i.name()).unwrap(), i);
    }
    let e = err(&[("CNN_BENCH_ISOLATE", "some")]);
    assert!(
        e.contains("CNN_BENCH_ISOLATE") && e.contains("valid values: none, gpu, all"),
        "{e}"
    );
    assert_eq!(grid(&[]).unwrap().malloc, Malloc::Retain);
    let g = grid(&[("CNN_BENCH_MALLOC", "default")]).unwrap();
    assert_eq!(g.malloc, Malloc::Default);
    let e = err(&[("CNN_BENCH_MALLOC", "tcmalloc")]);
    assert!(
        e.contains("CNN_BENCH_MALLOC") && e.contains("valid values: default, retain"),
        "{e}"
    );
    let file = format!("{CONFIG}\n[profiles.glibc]\nmalloc = \"default\"\n");
    let vars = BTreeMap::from([("CNN_BENCH_PROFILE".to_string(), "glibc".to_string())]);
    let g = Grid::from_parts(&file, Path::new("cnn-bench.toml"), &vars).unwrap();
    assert_eq!(g.malloc, Malloc::Default);
}

/// A framework can have a limit of its own (burn's kernels compile in its
/// first step on a GPU), from the file or a variable; a misspelt framework
/// or a bad number is refused (as is one too large for a clock).
#[test]
fn a_framework_can_have_its_own_time_limit() {
    let g = grid(&[("CNN_BENCH_TIME_LIMIT", "120")]).unwrap();
    assert_eq!(g.time_limit(Framework::Burn), 120.0);
    assert_eq!(g.time_limits(), "120 s");
    let g = grid(&[
        ("CNN_BENCH_TIME_LIMIT", "120"),
        (
            "CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK",
            "burn=300, candle = 200",
        ),
    ])
    .unwrap();
    assert_eq!(
        [Framework::Tch, Framework::Candle, Framework::Burn].map(|f| g.time_limit(f)),
        [120.0, 200.0, 300.0]
    );
    assert_eq!(g.time_limits(), "120 s (candle: 200 s, burn: 300 s)");
    let file = format!("time_limit_by_framework = {{ burn = 240.0 }}\n{CONFIG}");
    let g = Grid::from_parts(&file, Path::new("cnn-bench.toml"), &BTreeMap::new()).unwrap();
    assert_eq!(
        (g.time_limit(Framework::Burn), g.time_limit(Framework::Tch)),
        (240.0, 900.0)
    );
    let e = err(&[("CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK", "brun=300")]);
    assert!(
        e.contains("`time_limit_by_framework`: unknown framework `brun`; valid frameworks: tch"),
        "{e}"
    );
    let e = err(&[("CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK", "burn")]);
    assert!(e.contains("`burn` is not framework=seconds"), "{e}");
    let e = err(&[("CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK", "burn=0")]);
    assert!(
        e.contains("burn's must be a positive number of seconds"),
        "{e}"
    );
    // A time past a clock's reach (1e20 s panicked as the run started).
    for var in [
        "CNN_BENCH_TIME_LIMIT",
        "CNN_BENCH_TARGET_SECONDS",
        "CNN_BENCH_BUDGET",
    ] {
        let e = err(&[(var, "1e20")]);
        assert!(e.contains("at most 1e9"), "{var}: {e}");
    }
    let e = err(&[("CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK", "burn=1e20")]);
    assert!(e.contains("at most 1e9"), "{e}");
    assert!(grid(&[("CNN_BENCH_TIME_LIMIT", "1e9")]).is_ok());
}

#[test]
fn unknown_names_are_refused_with_the_valid_ones() {
    let e = err(&[("CNN_BENCH_MODELS", "resnet18,resnet1000")]);
    assert!(
        e.contains("unknown model `resnet1000`") && e.contains("efficientnetb7"),
        "{e}"
    );
    let e = err(&[("CNN_BENCH_FRAMEWORKS", "tch,jax")]);
    assert!(
        e.contains("unknown framework `jax`; valid frameworks: tch, tch-jit, candle, ort, tract"),
        "{e}"
    );
    let e = err(&[("CNN_BENCH_RUNS", "tpu/train")]);
    assert!(
        e.contains("unknown device `tpu`") && e.contains("cpu, gpu"),
        "{e}"
    );
    let e = err(&[("CNN_BENCH_RUNS", "cpu/finetune")]);
    assert!(
        e.contains("unknown phase `finetune`") && e.contains("train, inference"),
        "{e}"
    );
    let e = err(&[("CNN_BENCH_PROFILE", "fast")]);
    assert!(
        e.contains("unknown profile `fast`") && e.contains("quick"),
        "{e}"
    );
    let e = err(&[("CNN_BENCH_MODEL", "resnet18")]);
    assert!(
        e.contains("unknown variable CNN_BENCH_MODEL") && e.contains("CNN_BENCH_MODELS"),
        "{e}"
    );
    let e = err(&[("CNN_BENCH_SIZES", "224,big")]);
    assert!(e.contains("`big` is not a positive integer"), "{e}");
}

#[test]
fn inputs_a_model_cannot_take_are_refused_before_a_run() {
    let sizes = |vars: &[(&str, &str)]| grid(vars).unwrap().check_sizes();
    let e = format!(
        "{:#}",
        sizes(&[
            ("CNN_BENCH_MODELS", "inception_v3"),
            ("CNN_BENCH_SIZES", "64"),
            ("CNN_BENCH_RUNS", "cpu/inference"),
        ])
        .unwrap_err()
    );
    assert!(
        e.contains("size 64 cannot be used for inception_v3 in inference")
            && e.contains("too small"),
        "{e}"
    );
    let e = format!(
        "{:#}",
        sizes(&[
            ("CNN_BENCH_MODELS", "inception_v3"),
            ("CNN_BENCH_SIZES", "224"),
            ("CNN_BENCH_RUNS", "cpu/train"),
        ])
        .unwrap_err()
    );
    assert!(
        e.contains("size 224 cannot be used for inception_v3 in train"),
        "{e}"
    );
    sizes(&[
        ("CNN_BENCH_MODELS", "inception_v3"),
        ("CNN_BENCH_SIZES", "224"),
        ("CNN_BENCH_RUNS", "cpu/inference"),
    ])
    .unwrap();
    sizes(&[
        ("CNN_BENCH_MODELS", "inception_v3"),
        ("CNN_BENCH_SIZES", "299"),
        ("CNN_BENCH_RUNS", "gpu/train"),
    ])
    .unwrap();
    let e = format!("{:#}", sizes(&[("CNN_BENCH_SIZES", "16")]).unwrap_err());
    assert!(e.contains("16x16 input is too small"), "{e}");
}

#[test]
fn malformed_config_files_are_refused() {
    let vars = BTreeMap::new();
    let e = format!(
        "{:#}",
        Grid::from_parts("models = [\"resnet18\"", Path::new("x.toml"), &vars).unwrap_err()
    );
    assert!(e.contains("malformed grid config x.toml"), "{e}");
    let e = format!(
        "{:#}",
        Grid::from_parts("modles = []", Path::new("x.toml"), &vars).unwrap_err()
    );
    assert!(e.contains("unknown field `modles`"), "{e}");
    let text = CONFIG.replace("\"candle\",", "\"candel\",");
    let e = format!(
        "{:#}",
        Grid::from_parts(&text, Path::new("x.toml"), &vars).unwrap_err()
    );
    assert!(e.contains("unknown framework `candel`"), "{e}");
}

/// Every variable the help lists is one the grid's reader knows (a flag's
/// variable, CNN_BENCH_NEW_ONLY, was once listed and refused as unknown),
/// and one it does not list is refused, naming the valid ones.
#[test]
fn every_listed_variable_is_known() {
    for (var, _) in cnn_bench::config::ENV_VARS {
        if let Err(e) = grid(&[(var, "1")]) {
            assert!(
                !format!("{e:#}").contains("unknown variable"),
                "{var}: {e:#}"
            );
        }
    }
    let e = format!("{:#}", grid(&[("CNN_BENCH_NEW_ONLI", "1")]).unwrap_err());
    assert!(
        e.contains("unknown variable CNN_BENCH_NEW_ONLI; valid variables: ")
            && e.contains("CNN_BENCH_NEW_ONLY"),
        "{e}"
    );
}

/// A value listed twice made each of its benchmarks twice (`sizes =
/// [224, 224]`: 1152 benchmarks for 576; in one process criterion panicked
/// at the second, in child processes each was measured twice, the second
/// over the first's record): refused, naming it.
#[test]
fn a_value_listed_twice_is_refused() {
    for (var, list, again) in [
        ("CNN_BENCH_MODELS", "resnet18,vgg16,resnet18", "resnet18"),
        ("CNN_BENCH_FRAMEWORKS", "tch,candle,tch", "tch"),
        (
            "CNN_BENCH_RUNS",
            "gpu/train,cpu/inference,gpu/train",
            "gpu/train",
        ),
        ("CNN_BENCH_SIZES", "224,224", "224"),
        ("CNN_BENCH_BATCHES", "1,8,1", "1"),
    ] {
        let e = err(&[(var, list)]);
        assert!(e.contains(&format!("lists `{again}` twice")), "{var}: {e}");
    }
    assert!(grid(&[("CNN_BENCH_SIZES", "128,224")]).is_ok());
}
