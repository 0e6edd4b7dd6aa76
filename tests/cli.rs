//! The command line refuses bad input with exit status 2 and a message that
//! lists the valid choices.

use std::process::Command;

/// Runs `bin` with `args` and `vars`: exit status, stdout, stderr.
fn run(bin: &str, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(args)
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap(),
        text(out.stdout),
        text(out.stderr),
    )
}

fn grid(vars: &[(&str, &str)]) -> (i32, String, String) {
    run(env!("CARGO_BIN_EXE_cnn-bench"), &["grid"], vars)
}

#[test]
fn the_default_grid_is_printed() {
    let (code, out, _) = grid(&[]);
    assert_eq!(code, 0);
    assert!(out.contains("21 groups, 1728 benchmarks"), "{out}");
    assert!(!out.contains("shard"), "{out}");
    // A shard's part of it (1728 = 4 x 432; 1728 = 5 x 345 + 3: the first
    // three shards hold one more).
    let (_, out, _) = grid(&[("CNN_BENCH_SHARD", "2/4")]);
    assert!(
        out.ends_with("21 groups, 1728 benchmarks\nshard 2/4 (CNN_BENCH_SHARD): 432 of them where all can run (benchmarks 2, 6, 10, ...; `cargo bench -- --list` lists this machine's)\n"),
        "{out}"
    );
    let (_, out, _) = grid(&[("CNN_BENCH_SHARD", "3/5")]);
    assert!(
        out.contains("shard 3/5 (CNN_BENCH_SHARD): 346 of them"),
        "{out}"
    );
    let (_, out, _) = grid(&[("CNN_BENCH_SHARD", "5/5")]);
    assert!(
        out.contains("shard 5/5 (CNN_BENCH_SHARD): 345 of them"),
        "{out}"
    );
    // A bad run option is said before any of the grid is printed.
    let (code, out, err) = grid(&[("CNN_BENCH_SHARD", "5/4")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("shard `5/4`: K must be between 1 and N"),
        "{err}"
    );
    assert_eq!(out, "");
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

/// The harness's `--list` with `vars` and `args`: exit status, stdout, stderr.
fn list(vars: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let args: Vec<&str> = ["--bench", "--list"].iter().chain(args).copied().collect();
    run(env!("CARGO_BIN_EXE_cnn-bench-run"), &args, vars)
}

#[test]
fn sizes_are_checked_for_what_the_filter_selects() {
    // Inception needs 299x299 to train; the default grid's 128 is fine for
    // the CPU inference the filter asks for.
    let inception = [("CNN_BENCH_MODELS", "inception_v3")];
    let (code, out, err) = list(&inception, &["/cpu/inference/"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 96, "{out}");
    assert!(out.lines().all(|l| l.contains("/cpu/inference/")), "{out}");
    // Asked for everything, its 128x128 train benchmarks are refused.
    let (code, _, err) = list(&inception, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("size 128 cannot be used for inception_v3 in train"),
        "{err}"
    );
}

/// An input size or batch whose input batches alone cannot fit in this
/// machine's memory is refused before a run, which would end on it.
#[test]
fn inputs_larger_than_the_machines_memory_are_refused() {
    let vars = [
        ("CNN_BENCH_MODELS", "resnet18"),
        ("CNN_BENCH_FRAMEWORKS", "tch"),
        ("CNN_BENCH_RUNS", "cpu/inference"),
        ("CNN_BENCH_SIZES", "64,1000000"),
        ("CNN_BENCH_BATCHES", "1"),
    ];
    let (code, out, err) = list(&vars, &[]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("larger than this machine's memory")
            && err.contains("resnet18/cpu/inference/tch/size1000000-batch1 (33527.6 GiB)"),
        "{err}"
    );
    let (code, _, err) = list(&vars, &["size64"]);
    assert_eq!(code, 0, "what the filter selects fits: {err}");
    // `cnn-bench grid` checks the whole grid so.
    let (code, out, err) = grid(&vars);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("larger than this machine's memory"), "{err}");
}

/// A filter that names no benchmark (a typo) is refused before anything
/// runs, with what an id is made of; a catalogue model named runs.
#[test]
fn a_filter_that_matches_nothing_exits_with_2() {
    let (code, _, err) = list(&[], &["resnet19/gpu/train"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cnn-bench: error: the filter `resnet19/gpu/train` matches no benchmark; an id is model/device/phase/framework/size<S>-batch<B>"),
        "{err}"
    );
    let tch = [
        ("CNN_BENCH_FRAMEWORKS", "tch"),
        ("CNN_BENCH_MODELS", "resnet18"),
    ];
    let (code, _, err) = list(&tch, &["resnet18/cpu/inference/candle/"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("; frameworks tch; sizes "), "{err}");
    let (code, out, err) = list(&tch, &["resnet18/cpu/inference/tch/size128-batch8"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "resnet18/cpu/inference/tch/size128-batch8: benchmark\n"),
        "{err}"
    );
}

/// GPU benchmarks asked of a build without CUDA (or a machine without a
/// GPU) are refused with each framework's reason, not run as nothing with
/// exit 0; a selection with some benchmarks that can run here runs those.
#[test]
#[cfg(not(any(feature = "cuda", feature = "burn-cuda")))]
fn a_selection_of_which_nothing_can_run_here_exits_with_2() {
    let vars = [
        ("CNN_BENCH_FRAMEWORKS", "tch,candle"),
        ("CNN_BENCH_MODELS", "resnet18"),
        ("CNN_BENCH_SIZES", "128"),
        ("CNN_BENCH_BATCHES", "1"),
    ];
    let (code, out, err) = list(&vars, &["resnet18/gpu/"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("cnn-bench: error: none of the selected benchmarks can run here: gpu: 4 benchmark(s) skipped (tch: libtorch sees 0 CUDA device(s)")
            && err.contains("; candle: this build of candle has no CUDA support (build with the `cuda` feature)"),
        "{err}"
    );
    // The grid's runs narrowed to the GPU by a variable: the same.
    let gpu_only = [vars.as_slice(), &[("CNN_BENCH_RUNS", "gpu/inference")]].concat();
    let (code, _, err) = list(&gpu_only, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("gpu: 2 benchmark(s) skipped"), "{err}");
    // Some can run: those are listed, the others said skipped.
    let (code, out, err) = list(&vars, &["resnet18/"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "resnet18/cpu/inference/tch/size128-batch1: benchmark\nresnet18/cpu/inference/candle/size128-batch1: benchmark\n"
    );
}

/// `--list` with a shard prints that shard's benchmarks: the shards of a
/// selection are disjoint, and together the whole list, in its order.
#[test]
fn list_with_a_shard_prints_the_shards_benchmarks() {
    let vars = [
        ("CNN_BENCH_FRAMEWORKS", "tch,candle"),
        ("CNN_BENCH_MODELS", "resnet18"),
        ("CNN_BENCH_RUNS", "cpu/inference"),
    ];
    let (code, all, err) = list(&vars, &[]);
    assert_eq!(code, 0, "{err}");
    let all: Vec<&str> = all.lines().collect();
    assert_eq!(all.len(), 24, "{all:?}");
    let mut shards: Vec<Vec<String>> = Vec::new();
    for k in 1..=3 {
        let (code, out, err) = list(&vars, &["--shard", &format!("{k}/3")]);
        assert_eq!(code, 0, "{err}");
        shards.push(out.lines().map(String::from).collect());
    }
    assert!(shards.iter().all(|s| s.len() == 8), "{shards:?}");
    let interleaved: Vec<&str> = (0..24).map(|i| shards[i % 3][i / 3].as_str()).collect();
    assert_eq!(interleaved, all);
    let (_, by_var, _) = list(
        &[vars.as_slice(), &[("CNN_BENCH_SHARD", "2/3")]].concat(),
        &[],
    );
    assert_eq!(by_var.lines().collect::<Vec<_>>(), shards[1]);
}

/// `report --grid` counts the grid's benchmarks with the selection a run
/// makes (on a machine with every device): the published CPU grid is the
/// default grid's CPU half but for `pytorch` (7 x 12 benchmarks) and
/// `tch-vision` (4 x 12: it has no vgg16 or efficientnet of its own) and
/// `candle-transformers` (3 x 12: its resnets only), `tensorflow` and
/// `burn` (7 x 12 each), and none of its GPU half.
#[test]
fn a_report_of_the_published_cpu_grid_covers_the_grids_cpu_half() {
    let csv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target-reports/rust-2core-xeon-cpu-grid/report.csv"
    );
    let out = concat!(env!("CARGO_TARGET_TMPDIR"), "/cli-coverage");
    let report = |vars: &[(&str, &str)]| {
        let args = ["report", "--grid", "--csv", csv, "--out", out];
        run(env!("CARGO_BIN_EXE_cnn-bench"), &args, vars)
    };
    let (code, said, err) = report(&[("CNN_BENCH_RUNS", "cpu/inference")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        said.starts_with("420 of 756 selected benchmarks recorded; 336 remain;"),
        "{said}"
    );
    let (code, said, err) = report(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        said.starts_with("420 of 1728 selected benchmarks recorded; 1308 remain;"),
        "{said}"
    );
    // A CSV has no criterion baselines to choose from: said, not ignored.
    let args = ["report", "--csv", csv, "--baseline", "main", "--out", out];
    let (code, _, err) = run(env!("CARGO_BIN_EXE_cnn-bench"), &args, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("'--csv <CSV>' cannot be used with '--baseline"),
        "{err}"
    );
}

/// `report --grid` on a grid not started (an empty criterion folder) says
/// what is left, every benchmark guessed, and writes no report; a folder
/// that is not there is still an error.
#[test]
fn a_grid_not_started_is_said_left_not_an_error() {
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/cli-not-started"));
    let (empty, out) = (dir.join("criterion"), dir.join("report"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&empty).unwrap();
    let vars = [
        ("CNN_BENCH_RUNS", "cpu/inference"),
        ("CNN_BENCH_MODELS", "resnet18"),
    ];
    let report = |criterion: &std::path::Path| {
        let args = [
            "report",
            "--grid",
            "--criterion",
            criterion.to_str().unwrap(),
        ];
        let args = [&args[..], &["--out", out.to_str().unwrap()]].concat();
        run(env!("CARGO_BIN_EXE_cnn-bench"), &args, &vars)
    };
    let (code, said, err) = report(&empty);
    assert_eq!(code, 0, "{err}");
    assert!(said.starts_with("0 of 120 selected benchmarks recorded; 120 remain\nleft to measure: 120 benchmark(s) (120 never recorded"), "{said}");
    assert!(
        said.contains("of machine time (a guess: no record to predict from)"),
        "{said}"
    );
    assert!(err.contains("no report written"), "{err}");
    assert!(!out.exists());
    let (code, _, err) = report(&dir.join("missing"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing"), "{err}");
}

/// Without TensorFlow's library a run of its benchmarks alone is refused,
/// saying why, and a run of others skips them; nothing calls into the
/// missing library.
#[test]
fn a_missing_tensorflow_library_is_said_not_a_crash() {
    let out = concat!(env!("CARGO_TARGET_TMPDIR"), "/cli-no-tensorflow");
    let _ = std::fs::remove_dir_all(out);
    let vars = [
        ("TENSORFLOW_DIR", "/nonexistent/tensorflow"),
        ("LD_LIBRARY_PATH", ""),
        ("CRITERION_HOME", out),
        ("CNN_BENCH_REPORT", "none"),
        ("CNN_BENCH_PROFILE", "quick"),
    ];
    let args = ["--bench", "--noplot", "resnet18/cpu/inference/tensorflow"];
    let (code, _, err) = run(env!("CARGO_BIN_EXE_cnn-bench-run"), &args, &vars);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cnn-bench: error: none of the selected benchmarks can run here: cpu: 2 benchmark(s) skipped (tensorflow: cannot load TensorFlow from /nonexistent/tensorflow"),
        "{err}"
    );
    assert!(!std::path::Path::new(out).exists(), "{err}");
    let (code, listed, err) = list(&vars, &["resnet18/cpu/inference/(tch|tensorflow)/"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("cnn-bench: cpu: 2 benchmark(s) skipped (tensorflow: cannot load"),
        "{err}"
    );
    assert_eq!(
        listed,
        "resnet18/cpu/inference/tch/size128-batch1: benchmark\nresnet18/cpu/inference/tch/size128-batch8: benchmark\n"
    );
}

/// criterion's options the harness cannot honour are refused before
/// anything runs (no folder written), each naming what to use instead:
/// `--load-baseline` (an earlier run's saved samples analysed again,
/// nothing measured), `--sample-size`, `--warm-up-time` and
/// `--measurement-time` (each benchmark's plan overrides them: before the
/// refusal, `--measurement-time 4` measured the same 1.3 s as without it),
/// `--quick` (two samples, recorded as the plan's 39) and
/// `--confidence-level` (reports read every interval as 95%). Values
/// criterion would stop on with a panic (exit 101) are usage errors too.
#[test]
fn criterions_options_we_cannot_honour_are_refused_naming_what_to_use_instead() {
    let out = concat!(env!("CARGO_TARGET_TMPDIR"), "/cli-refused");
    let _ = std::fs::remove_dir_all(out);
    let vars = [
        ("CRITERION_HOME", out),
        ("CNN_BENCH_REPORT", "none"),
        ("CNN_BENCH_PROFILE", "quick"),
    ];
    let refused: [(&[&str], &str); 6] = [
        (&["--load-baseline", "new"], "compare OLD NEW"),
        (&["--sample-size", "10"], "CNN_BENCH_TARGET_SECONDS"),
        (&["--warm-up-time=1"], "CNN_BENCH_TARGET_SECONDS"),
        (&["--measurement-time", "4"], "CNN_BENCH_TARGET_SECONDS"),
        (&["--quick"], "CNN_BENCH_PROFILE=quick"),
        (&["--confidence-level", "0.99"], "95%"),
    ];
    // What the harness says of `option` (with `vars`), refused before
    // anything runs: exit 2, no folder written.
    let refusal = |option: &[&str], vars: &[(&str, &str)]| {
        let mut args = vec!["--bench"];
        args.extend(option);
        args.push("resnet18/cpu/inference/tract");
        let (code, _, err) = run(env!("CARGO_BIN_EXE_cnn-bench-run"), &args, vars);
        assert_eq!(code, 2, "{option:?}: {err}");
        assert!(!std::path::Path::new(out).exists(), "{option:?}: {err}");
        err
    };
    for (option, instead) in refused {
        let err = refusal(option, &vars);
        let flag = option[0].split('=').next().unwrap();
        assert!(
            err.contains(&format!("`{flag}` is not supported")) && err.contains(instead),
            "{err}"
        );
    }
    // A baseline named after one of criterion's own folders: `new` (the
    // latest run) was emptied, each file copied onto itself.
    for option in [&["--save-baseline", "new"][..], &["-b", "change"]] {
        let err = refusal(option, &vars);
        assert!(err.contains("is one of criterion's own folders"), "{err}");
    }
    // Or not a folder's name: `""` wrote criterion's files into the
    // benchmark's own folder, `a/b` a folder that `compare DIR:a/b` cannot
    // name.
    for option in [&["--save-baseline", ""][..], &["-s", "a/b"], &["-b", ".."]] {
        let err = refusal(option, &vars);
        assert!(err.contains("its name is one folder's name"), "{err}");
    }
    // Values criterion asserts on (a panic, exit 101, once the harness had
    // started), and a plotting backend it cannot find (PATH holds no
    // gnuplot here: criterion looks it up there).
    let empty = concat!(env!("CARGO_TARGET_TMPDIR"), "/cli-refused-path");
    std::fs::create_dir_all(empty).unwrap();
    let no_gnuplot = [vars.as_slice(), &[("PATH", empty)]].concat();
    let out_of_range: [(&[&str], &str); 6] = [
        (&["--nresamples", "0"], "at least 1"),
        (&["--noise-threshold=0"], "above 0"),
        (&["--significance-level", "1"], "between 0 and 1"),
        (&["--significance-level", "0"], "between 0 and 1"),
        (&["--profile-time", "0.5"], "at least 1"),
        (
            &["--plotting-backend", "gnuplot"],
            "gnuplot is not installed",
        ),
    ];
    for (option, said) in out_of_range {
        let err = refusal(option, &no_gnuplot);
        let flag = option[0].split('=').next().unwrap();
        assert!(
            err.contains(&format!("`{flag} ")) && err.contains(said),
            "{err}"
        );
    }
    // What criterion keeps as it is still runs (listed here: nothing measured).
    let args = [
        "--bench",
        "--nresamples",
        "1000",
        "--significance-level=0.1",
        "--list",
        "resnet18/cpu/inference/tract",
    ];
    let (code, listed, err) = run(env!("CARGO_BIN_EXE_cnn-bench-run"), &args, &vars);
    assert_eq!(code, 0, "{err}");
    assert!(
        listed.contains("resnet18/cpu/inference/tract/size128-batch1: benchmark"),
        "{listed}"
    );
}

/// `cargo bench -- --help` names the harness's own flags and variables
/// beside criterion's options, and answers at once: it starts no Python
/// (the `pytorch` probe, seconds of importing torch, which `--list` does
/// start: the marker shows the check can fail).
#[test]
fn help_names_our_flags_and_variables_and_starts_no_python() {
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/cli-help"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (python, marker) = (dir.join("python"), dir.join("python-started"));
    let script = format!("#!/bin/sh\ntouch {}\nexit 1\n", marker.display());
    std::fs::write(&python, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let vars = [
        ("CNN_BENCH_PYTHON", python.to_str().unwrap()),
        ("CNN_BENCH_FRAMEWORKS", "pytorch"),
        ("CNN_BENCH_MODELS", "resnet18"),
    ];
    let bench = env!("CARGO_BIN_EXE_cnn-bench-run");
    let (code, out, err) = run(bench, &["--bench", "--help"], &vars);
    assert_eq!(code, 0, "{err}");
    for said in [
        "--max-time <SECONDS>",
        "CNN_BENCH_MODELS",
        "--save-baseline",
        "--quick, --confidence-level are refused",
    ] {
        assert!(out.contains(said), "{said} missing from:\n{out}");
    }
    assert!(!marker.exists(), "--help started Python");
    // A Python that cannot run the worker: nothing selected can run.
    let (code, _, err) = list(&vars, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot run the PyTorch worker"), "{err}");
    assert!(
        marker.exists(),
        "--list probed no Python: the check above proves nothing"
    );
}

/// `compare --relative-to tch` compares two published runs of one commit
/// through each run's own tch: the whole second run's 5% shift (the
/// machine's) cancels, and what is left is each framework against tch.
#[test]
fn compare_relative_to_a_framework_cancels_the_runs_shift() {
    let runs = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target-reports/rust-2core-epyc-pytorch-"
    );
    let (a, b) = (format!("{runs}33479f8"), format!("{runs}3603b83"));
    let compare = |extra: &[&str]| {
        let args: Vec<&str> = ["compare", &a, &b].iter().chain(extra).copied().collect();
        run(env!("CARGO_BIN_EXE_cnn-bench"), &args, &[])
    };
    let (code, out, err) = compare(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("new / old over the 54 benchmarks measured in both: geometric mean 0.949, 90% of them within 0.74-1.14; by framework: tch 0.947 (18), tch-jit 0.937 (18), pytorch 0.964 (18)."),
        "{out}"
    );
    let (code, out, err) = compare(&["--relative-to", "tch"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("relative to tch:"), "{err}");
    assert!(
        out.contains("new / old over the 36 benchmarks measured in both: geometric mean 1.003")
            && out.contains("by framework: tch-jit 0.989 (18), pytorch 1.018 (18). Relative:"),
        "{out}"
    );
    assert!(
        out.contains("resnet50/cpu/inference/pytorch/size128-batch1") && !out.contains("/tch/size"),
        "tch's own benchmarks are left out\n{out}"
    );
    assert!(
        out.ends_with("36 benchmark(s) compared: 8 regression(s) beyond 5%, 7 improvement(s), 21 within noise, 0 below the threshold; 0 unmatched (in one run only, measured in neither, or in other units)\n"),
        "{out}"
    );
    // The same as a Markdown table, for a pull request's comment.
    let (code, md, err) = compare(&["--relative-to", "tch", "--markdown"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        md.starts_with("| verdict | benchmark | old (over tch's) | new (over tch's) | change |\n|---|---|---|---|---|\n| **REGRESSION** | `resnet50/cpu/inference/pytorch/size128-batch1` | 0.996x [0.954 .. 1.037] | 1.331x [1.282 .. 1.382] | **+33.6%** |\n"),
        "{md}"
    );
    assert_eq!(md.lines().filter(|l| l.starts_with("| ")).count(), 37);
    let last = out.lines().last().unwrap();
    assert!(md.trim_end().ends_with(last), "the same closing line\n{md}");
    // A comment of runs that mix settings keeps the warning, above its table.
    let legs = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target-reports/rust-2core-xeon-malloc-8597204/"
    );
    let (default, retain) = (format!("{legs}1-default"), format!("{legs}2-retain"));
    let args = ["compare", &default, &retain, "--markdown"];
    let (code, md, err) = run(env!("CARGO_BIN_EXE_cnn-bench"), &args, &[]);
    assert_eq!(code, 1, "{err}");
    let warning = "these runs mix settings (old: malloc `default`, 2 CPU thread(s); new: malloc `retain`, 2 CPU thread(s)): a difference may be the settings', not the code's";
    assert!(
        md.starts_with(&format!("> **Warning:** {warning}\n\n| verdict |")),
        "{md}"
    );
    assert!(
        err.contains(&format!("cnn-bench: warning: {warning}")),
        "{err}"
    );
    // A framework that is none, or one neither run measured: exit 2.
    let (code, _, err) = compare(&["--relative-to", "torch"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown framework `torch`; valid frameworks: tch,"),
        "{err}"
    );
    let (code, _, err) = compare(&["--relative-to", "candle"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("the old run has no measured candle benchmark"),
        "{err}"
    );
}

/// A report folder that cannot be made (`CNN_BENCH_REPORT` under a file)
/// is a usage error before anything runs: it was said only after the run,
/// "no report written", with exit 0. So is criterion's folder.
#[test]
fn folders_that_cannot_be_made_are_said_before_the_run() {
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/cli-report-dir"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let (out, report) = (dir.join("criterion"), file.join("report"));
    let vars = [
        ("CRITERION_HOME", out.to_str().unwrap()),
        ("CNN_BENCH_REPORT", report.to_str().unwrap()),
        ("CNN_BENCH_PROFILE", "quick"),
    ];
    let args = ["--bench", "--noplot", "resnet18/cpu/inference/tract"];
    let (code, _, err) = run(env!("CARGO_BIN_EXE_cnn-bench-run"), &args, &vars);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the report's folder") && err.contains("cannot be made"),
        "{err}"
    );
    assert!(!out.exists(), "{err}");
    // criterion's own folder: each benchmark was measured, then not kept
    // ("Criterion.rs ERROR"), and the run stopped with exit 1.
    let (out, report) = (file.join("criterion"), dir.join("report"));
    let vars = [
        ("CRITERION_HOME", out.to_str().unwrap()),
        ("CNN_BENCH_REPORT", report.to_str().unwrap()),
        ("CNN_BENCH_PROFILE", "quick"),
    ];
    let (code, _, err) = run(env!("CARGO_BIN_EXE_cnn-bench-run"), &args, &vars);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("criterion's folder") && err.contains("(CRITERION_HOME) cannot be made"),
        "{err}"
    );
    assert!(!err.contains("Criterion.rs ERROR"), "{err}");
}
