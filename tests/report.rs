//! Reports and comparisons on criterion's real output: criterion measures a
//! step of known length (a sleep) through cnn-bench's measurement, the
//! harness's records are written beside it, and the report is read back.

use cnn_bench::grid::{Case, Device, Group, Phase};
use cnn_bench::identities::{Framework, Metric, Status};
use cnn_bench::measurement::StepMetric;
use cnn_bench::record::{record_paths, write_path, write_record, Record};
use cnn_bench::report::{self, Measured, Verdict};
use cnn_bench::run_info::RunInfo;
use criterion::{BenchmarkId, Criterion};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const GROUP: &str = "resnet18/cpu/inference";

fn group() -> Group {
    Group {
        model: "resnet18".into(),
        device: Device::Cpu,
        phase: Phase::Inference,
    }
}

fn case(framework: &str) -> Case {
    Case {
        framework: Framework::parse(framework).unwrap(),
        size: 64,
        batch: 2,
    }
}

fn record(framework: &str, failure: Option<&str>) -> Record {
    Record {
        id: format!("{GROUP}/{framework}/size64-batch2"),
        group: group(),
        case: case(framework),
        framework_version: format!("{framework} test"),
        threads: 1,
        seed: Some(1),
        status: if failure.is_some() {
            Status::Failed
        } else {
            Status::Ok
        },
        reason: failure.map(String::from),
        isolated: false,
        metric: Metric::Time,
        first_step_seconds: None,
        samples: Some(10),
        flat_sampling: Some(true),
        flops_per_step: 1_000_000_000,
        memory: None,
        peak_gflops: Some(100.0),
        run: RunInfo {
            git_commit: "abc123".into(),
            date: "2026-11-26T00:00:00Z".into(),
            versions: "test".into(),
            cpu_model: "test cpu".into(),
            gpu: "none".into(),
            ..RunInfo::default()
        },
        ..Record::default()
    }
}

/// A fresh folder under target/ for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh folder under target/ holding one record: tch's estimate of a
/// 2 ms step.
fn one_estimate(name: &str) -> PathBuf {
    let dir = scratch(name);
    let mut r = record("tch", None);
    r.estimate = Some(cnn_bench::record::StepEstimate::of(&[2e6, 2e6]));
    write_record(&dir, &group(), &case("tch"), &r).unwrap();
    dir
}

/// Criterion measures `framework`'s "step" (a sleep of `step`) into
/// `baseline`, and the harness's record goes beside it.
fn measure(dir: &Path, baseline: &str, framework: &str, step: Duration) {
    let mut c = Criterion::default()
        .with_measurement(StepMetric(Metric::Time))
        .output_directory(dir)
        .save_baseline(baseline.to_string())
        .without_plots()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(50))
        .measurement_time(Duration::from_millis(300));
    let mut g = c.benchmark_group(GROUP);
    g.bench_function(BenchmarkId::new(framework, "size64-batch2"), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                std::thread::sleep(step);
            }
            start.elapsed().as_nanos() as f64
        })
    });
    g.finish();
    write_record(dir, &group(), &case(framework), &record(framework, None)).unwrap();
}

fn measured(dir: &Path, baseline: &str) -> Vec<Measured> {
    report::collect(dir, baseline)
        .unwrap()
        .iter()
        .map(Measured::from)
        .collect()
}

#[test]
fn tables_and_csv_come_from_criterions_estimates_and_failures_show_as_dashes() {
    let dir = scratch("report-tables");
    measure(&dir, "base", "tch", Duration::from_millis(4));
    measure(&dir, "base", "candle", Duration::from_millis(8));
    let failed = Group {
        phase: Phase::Train,
        ..group()
    };
    let mut rec = record("candle", Some("CUDA out of memory"));
    rec.group.phase = Phase::Train;
    rec.id = "resnet18/cpu/train/candle/size64-batch2".into();
    // Where the harness writes it: beside criterion's files and in the
    // baseline the run saved (criterion's default, `base`).
    for path in record_paths(&dir, &failed, &case("candle"), Some("base")) {
        write_path(&path, &rec).unwrap();
    }

    let rows = report::collect(&dir, "base").unwrap();
    assert_eq!(rows.len(), 3);
    let tch = rows
        .iter()
        .find(|r| {
            r.record.case.framework == Framework::Tch && r.record.group.phase == Phase::Inference
        })
        .unwrap();
    let mean = tch.estimates.unwrap().mean;
    assert!(
        mean.point > 4e6 && mean.point < 8e6,
        "a 4 ms sleep measured as {} ns",
        mean.point
    );
    assert!(mean.low <= mean.point && mean.point <= mean.high);

    let md = report::markdown(&rows);
    assert!(md.contains("## Inference step time, CPU"), "{md}");
    assert!(md.contains("## Train step time, CPU"), "{md}");
    let line = md
        .lines()
        .find(|l| l.starts_with("| resnet18 | 64 | 2 |") && l.contains("(1.00)"))
        .unwrap();
    // Columns in the harness's order, each section only its own frameworks.
    assert!(
        md.contains("| model | size | batch | tch | candle |\n"),
        "{md}"
    );
    assert!(md.contains("| model | size | batch | candle |\n"), "{md}");
    // candle slept twice as long as tch
    let ratio: f64 = line
        .split('(')
        .nth(2)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1.6..2.4).contains(&ratio),
        "candle relative to tch: {line}"
    );
    assert!(
        md.contains("- [1]")
            && md.contains("1. `resnet18/cpu/train/candle/size64-batch2`: CUDA out of memory"),
        "{md}"
    );

    let csv_path = dir.join("report.csv");
    report::write_csv(&rows, &csv_path).unwrap();
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let lines: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(lines.len(), 3);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let failed_line = lines
        .iter()
        .find(|l| &l[col("status")] == "failed")
        .unwrap();
    assert_eq!(&failed_line[col("mean")], "", "a failure has no time");
    assert_eq!(&failed_line[col("reason")], "CUDA out of memory");
    let tch_line = lines
        .iter()
        .find(|l| &l[col("framework")] == "tch")
        .unwrap();
    let seconds: f64 = tch_line[col("mean")].parse().unwrap();
    assert!(seconds > 4e-3 && seconds < 8e-3, "{seconds}");
    let ips: f64 = tch_line[col("images_per_second")].parse().unwrap();
    assert!((ips - 2.0 / seconds).abs() < 1e-6 * ips);
    assert_eq!(&tch_line[col("git_commit")], "abc123");
    // 1 GFLOP per step over the measured seconds, against a 100 GFLOP/s peak
    let achieved: f64 = tch_line[col("achieved_gflops")].parse().unwrap();
    assert!((achieved - 1.0 / seconds).abs() < 1e-9 * achieved);
    let fraction: f64 = tch_line[col("fraction_of_peak")].parse().unwrap();
    assert!((fraction - achieved / 100.0).abs() < 1e-12);
    assert_eq!(&failed_line[col("fraction_of_peak")], "");
    let figures = cnn_bench::figures::write_all(&rows, &dir).unwrap();
    let names: Vec<String> = figures
        .iter()
        .map(cnn_bench::figures::Drawn::file_name)
        .collect();
    assert_eq!(
        names,
        [
            "relative-time-cpu-inference.svg",
            "relative-time-cpu-train.svg"
        ]
    );
    assert_eq!(
        figures[0].title,
        "inference step time relative to the fastest framework, cpu"
    );
    let svg = std::fs::read_to_string(&figures[0].path).unwrap();
    assert!(
        svg.contains("<svg")
            && svg.contains(">\nresnet18\n</text>")
            && svg.contains(">\n64 px\n</text>"),
        "{svg}"
    );
    let svg = std::fs::read_to_string(&figures[1].path).unwrap();
    assert!(
        svg.contains("failed (see report.md)"),
        "a failure is marked in its figure"
    );
    let html = report::index_html(&rows, &figures);
    assert!(
        html.contains("<h2>Inference step time, CPU</h2>") && html.contains("<th>model</th>"),
        "{html}"
    );
    assert!(
        html.contains("<img src=\"relative-time-cpu-inference.svg\" alt=\"inference step time relative to the fastest framework, cpu\">"),
        "{html}"
    );
    // One figure per line in a cell (time, ratio, images per second), so a
    // ten-framework table fits a window; report.md keeps `time (ratio)`.
    assert!(
        html.contains("<span class=\"rel\">(1.00)</span><span class=\"detail\">"),
        "{html}"
    );
    assert!(
        html.contains("<li>resnet18_cpu_inference (no criterion report)</li>"),
        "{html}"
    );
    // Every benchmark is listed (criterion wrote no HTML here: plots are off).
    assert!(
        html.contains("<td>resnet18/cpu/inference/tch/size64-batch2</td>"),
        "{html}"
    );

    // A published report.csv makes the same report again, and the same
    // CSV, digit for digit (seconds converted to criterion's nanoseconds
    // and back drifted in the last digit; the failure's seed, a record
    // without the settings a resumed run compares, was dropped).
    let again = report::rows_from_csv(&csv_path).unwrap();
    assert_eq!(report::markdown(&again), md);
    let csv_again = dir.join("report-again.csv");
    report::write_csv(&again, &csv_again).unwrap();
    let text = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(text(&csv_again), text(&csv_path));
    assert_eq!(&failed_line[col("seed")], "1");

    // Published runs compare through their CSV as through criterion's folder.
    let from_csv = report::measured_from_csv(&csv_path).unwrap();
    assert_eq!(from_csv.len(), 3);
    let direct = measured(&dir, "base");
    let a = from_csv
        .iter()
        .find(|m| m.id.ends_with("tch/size64-batch2"))
        .unwrap();
    let b = direct.iter().find(|m| m.id == a.id).unwrap();
    assert!((a.mean.unwrap().point - b.mean.unwrap().point).abs() < 1.0);
}

#[test]
fn comparisons_flag_a_slowed_run_and_not_a_repeat() {
    let dir = scratch("report-compare");
    // Steps long enough that a busy machine's late wake-ups (the other
    // tests of this binary run beside it: a 4 ms sleep once measured 13%
    // longer on a 2-core CI machine) stay far below the 10% threshold.
    measure(&dir, "first", "tch", Duration::from_millis(20));
    measure(&dir, "again", "tch", Duration::from_millis(20));
    measure(&dir, "slowed", "tch", Duration::from_millis(40));
    let first = measured(&dir, "first");

    let same = report::compare(&first, &measured(&dir, "again"), 0.10);
    assert_eq!(same.len(), 1);
    assert_ne!(same[0].verdict, Verdict::Regression, "{same:?}");

    let slow = report::compare(&first, &measured(&dir, "slowed"), 0.10);
    assert_eq!(slow[0].verdict, Verdict::Regression, "{slow:?}");
    let ratio = slow[0].ratio().unwrap();
    assert!((1.6..2.4).contains(&ratio), "{ratio}");

    // A benchmark that fails in the new run is a regression too.
    let mut broken = first.clone();
    broken[0].mean = None;
    broken[0].reason = Some("panicked".into());
    let c = report::compare(&first, &broken, 0.10);
    assert_eq!(c[0].verdict, Verdict::Regression);
    assert!(c[0].note.contains("fails now: panicked"));

    // A baseline never saved (a typo) is said, with the ones there.
    let err = report::collect(&dir, "frist").unwrap_err().to_string();
    assert!(
        err.contains("is in the baseline `frist`; it has: again, first, new, slowed"),
        "{err}"
    );
}

#[test]
fn reports_merge_folders_and_say_which_machine_measured_each_cell() {
    use cnn_bench::record::StepEstimate;
    let (a, b) = (scratch("report-merge-a"), scratch("report-merge-b"));
    let mut tch = record("tch", None);
    tch.estimate = Some(StepEstimate::of(&[2e6, 2e6]));
    tch.run.cpu_model = "cpu A".into();
    write_record(&a, &group(), &case("tch"), &tch).unwrap();
    let mut candle = record("candle", None);
    candle.estimate = Some(StepEstimate::of(&[4e6, 4e6]));
    candle.run.cpu_model = "cpu B".into();
    write_record(&b, &group(), &case("candle"), &candle).unwrap();

    let (rows, warnings) = report::collect_many(&[a.clone(), b.clone()], "new").unwrap();
    assert_eq!(rows.len(), 2);
    assert!(warnings.is_empty(), "{warnings:?}");
    let md = report::markdown(&rows);
    assert!(
        md.contains("this table mixes machines") && md.contains("M1 = cpu A; M2 = cpu B"),
        "{md}"
    );
    assert!(
        md.contains("| ~2.00 ms (1.00) @M1 | ~4.00 ms (2.00) @M2 |"),
        "{md}"
    );
    assert!(md.contains("\n\nCPU threads per framework: 1.\n\n"), "{md}");
    // Shards on machines of one CPU model and other core counts: their
    // thread counts differ (one per core by default), and the table says so.
    let with_candle = |candle: &Record| {
        write_record(&b, &group(), &case("candle"), candle).unwrap();
        let (rows, _) = report::collect_many(&[a.clone(), b.clone()], "new").unwrap();
        report::markdown(&rows)
    };
    candle.run.cpu_model = "cpu A".into();
    candle.threads = 16;
    let md = with_candle(&candle);
    assert!(
        md.contains("Measured on: cpu A.\n\n**Warning: this table mixes thread counts** (1, 16): "),
        "{md}"
    );
    candle.threads = 1;
    let md = with_candle(&candle);
    assert!(
        md.contains("Measured on: cpu A, 1 CPU thread per framework."),
        "{md}"
    );
    candle.run.cpu_model = "cpu B".into();
    write_record(&b, &group(), &case("candle"), &candle).unwrap();

    // The same benchmark in both folders: the later run's is kept, and said.
    let mut again = tch.clone();
    again.run.date = "2026-11-27T00:00:00Z".into();
    again.estimate = Some(StepEstimate::of(&[3e6, 3e6]));
    write_record(&b, &group(), &case("tch"), &again).unwrap();
    let (rows, warnings) = report::collect_many(&[a.clone(), b.clone()], "new").unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let kept = rows
        .iter()
        .find(|r| r.record.case.framework == Framework::Tch)
        .unwrap();
    assert_eq!(kept.mean(), Some(3e6));
    assert_eq!(kept.root, b);

    // A comparison of runs from different machines warns.
    let old = measured(&a, "new");
    let new = measured(&b, "new");
    let w = report::machine_warning(&old, &new).unwrap();
    assert!(w.contains("(old: cpu A; new: cpu A + cpu B)"), "{w}");
    assert!(report::machine_warning(&old, &old).is_none());
}

#[test]
fn each_framework_has_a_colour_of_its_own() {
    use cnn_bench::record::StepEstimate;
    let dir = scratch("report-colours");
    let names = Framework::ALL.map(Framework::name);
    for (i, f) in names.iter().enumerate() {
        let mut r = record(f, None);
        r.estimate = Some(StepEstimate::of(&[(i + 1) as f64 * 1e6; 2]));
        write_record(&dir, &group(), &case(f), &r).unwrap();
    }
    let rows = report::collect(&dir, "new").unwrap();
    let figures = cnn_bench::figures::write_all(&rows, &dir).unwrap();
    let svg = std::fs::read_to_string(&figures[0].path).unwrap();
    // The legend fills one dot per framework (the estimates' marks are
    // hollow).
    let mut colours: Vec<&str> = svg
        .split("<circle")
        .skip(1)
        .filter_map(|s| s[..s.find('>').unwrap()].split("fill=\"#").nth(1))
        .map(|s| &s[..6])
        .collect();
    colours.sort();
    colours.dedup();
    assert_eq!(colours.len(), names.len(), "{colours:?}");
}

#[test]
fn a_comparison_of_published_memory_runs_is_in_mib() {
    use cnn_bench::record::StepEstimate;
    let mut dirs = Vec::new();
    for (name, mib) in [("report-memory-old", 1000.0), ("report-memory-new", 1500.0)] {
        let dir = scratch(name);
        let mut r = record("tch", None);
        r.metric = Metric::Memory;
        r.estimate = Some(StepEstimate::of(&[mib, mib]));
        write_record(&dir, &group(), &case("tch"), &r).unwrap();
        let rows = report::collect(&dir, "new").unwrap();
        report::write_csv(&rows, &dir.join("report.csv")).unwrap();
        dirs.push(dir);
    }
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cnn-bench"))
        .arg("compare")
        .args(&dirs)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("1000 [1000 .. 1000] MiB") && out.contains("1500 [1500 .. 1500] MiB"),
        "{out}"
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "50% more memory is a regression: {out}"
    );
    assert!(
        out.ends_with("1 benchmark(s) compared: 1 regression(s) beyond 5%, 0 improvement(s), 0 within noise, 0 below the threshold; 0 unmatched (in one run only, measured in neither, or in other units)\n"),
        "{out}"
    );

    // Runs with no benchmark measured in both compare nothing: not a pass.
    let other = scratch("report-memory-other");
    let mut r = record("candle", None);
    r.metric = Metric::Memory;
    r.estimate = Some(StepEstimate::of(&[900.0, 900.0]));
    write_record(&other, &group(), &case("candle"), &r).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cnn-bench"))
        .arg("compare")
        .args([&dirs[0], &other])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no benchmark was measured in both runs (1 in the old, 1 in the new): nothing was compared"),
        "{err}"
    );

    // Time against memory (a run with CNN_BENCH_MEASURE=memory) is not a
    // ratio: unmatched, each side in its unit, and nothing compared.
    let timed = one_estimate("report-memory-timed");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cnn-bench"))
        .arg("compare")
        .args([&timed, &dirs[0]])
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(
        out.starts_with("unmatched ")
            && out.contains("2.00 ms [2.00 ms .. 2.00 ms] -> 1000 [1000 .. 1000] MiB")
            && out.contains("not comparable: the old run measured time, the new memory"),
        "{out}"
    );
}

/// A published report.csv may be named itself (`compare A/report.csv B`);
/// a CSV that is not a report's, or one with a header alone, is an error
/// (exit 2: it read as a report of 0 benchmarks), and so are a run that
/// does not exist and a negative threshold.
#[test]
fn a_csv_that_is_no_report_is_refused_and_a_reports_csv_compares_by_name() {
    let dir = one_estimate("report-csv-named");
    let csv = dir.join("report.csv");
    report::write_csv(&report::collect(&dir, "new").unwrap(), &csv).unwrap();
    let cnn_bench = |args: &[&Path]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_cnn-bench"))
            .args(args)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (o.status.code(), text(&o.stdout) + &text(&o.stderr))
    };
    let compare = Path::new("compare");
    let (code, said) = cnn_bench(&[compare, &csv, &dir]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("1 benchmark(s) compared"), "{said}");

    let other = dir.join("other.csv");
    std::fs::write(&other, "a,b\n").unwrap();
    let header = dir.join("header.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&header, text.lines().next().unwrap()).unwrap();
    let missing = dir.join("nosuch");
    let out = dir.join("made");
    for (bad, says) in [
        (
            &other,
            "is not a cnn-bench report.csv: its header lacks model, device",
        ),
        (&header, "holds no benchmark (a header alone)"),
    ] {
        let (code, said) = cnn_bench(&[compare, bad, &csv]);
        assert_eq!(code, Some(2), "{said}");
        assert!(said.contains(says), "{said}");
        let args = [
            Path::new("report"),
            Path::new("--csv"),
            bad,
            Path::new("--out"),
            &out,
        ];
        let (code, said) = cnn_bench(&args);
        assert_eq!(code, Some(2), "{said}");
        assert!(said.contains(says), "{said}");
        assert!(!out.exists(), "{said}");
    }
    let (code, said) = cnn_bench(&[compare, &missing, &csv]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("nosuch: no such file or folder"), "{said}");
    // A negative threshold counted "regression(s) beyond -100%".
    let (code, said) = cnn_bench(&[compare, &csv, &csv, Path::new("--threshold=-1")]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("a relative change, 0 or more"), "{said}");
}

/// A baseline's name is one folder's name: `""` read each benchmark's own
/// folder as its baseline (`compare DIR: DIR` "compared" 2 of 331, the
/// rest "without a number").
#[test]
fn a_baseline_that_is_no_folders_name_is_refused() {
    let dir = one_estimate("report-baseline-name");
    assert_eq!(report::collect(&dir, "new").unwrap().len(), 1);
    for bad in ["", "..", "a/b"] {
        let e = format!("{:#}", report::collect(&dir, bad).unwrap_err());
        assert!(e.contains("a baseline's name is one folder's name"), "{e}");
    }
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cnn-bench"))
        .arg("compare")
        .arg(format!("{}:", dir.display()))
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Marks of one framework: circles filled (the legend's) or outlined (an
/// estimate's) in its colour.
fn marks_of(svg: &str, colour: &str) -> usize {
    svg.split("<circle")
        .skip(1)
        .filter(|s| s[..s.find('>').unwrap()].contains(colour))
        .count()
}

#[test]
fn a_framework_absent_from_a_configuration_has_no_mark_there() {
    use cnn_bench::record::StepEstimate;
    let dir = scratch("report-absent");
    for (f, batch) in [("tch", 2), ("candle", 2), ("tch", 4)] {
        let mut r = record(f, None);
        r.case.batch = batch;
        r.id = format!("{GROUP}/{f}/size64-batch{batch}");
        r.estimate = Some(StepEstimate::of(&[1e6, 1e6]));
        let k = Case { batch, ..case(f) };
        write_record(&dir, &group(), &k, &r).unwrap();
    }
    let rows = report::collect(&dir, "new").unwrap();
    let figures = cnn_bench::figures::write_all(&rows, &dir).unwrap();
    let svg = std::fs::read_to_string(&figures[0].path).unwrap();
    // tch: the legend's dot, batches 2 and 4; candle: the dot and batch 2,
    // no failure's cross at batch 4.
    assert_eq!(marks_of(&svg, "#1F77B4"), 3, "{svg}");
    assert_eq!(marks_of(&svg, "#2CA02C"), 2, "{svg}");
    assert!(svg.contains(">\n4\n</text>"), "batch 4 is on the axis");
    let crosses = svg
        .split("<line")
        .skip(1)
        .filter(|s| s[..s.find('>').unwrap()].contains("#2CA02C"))
        .count();
    assert_eq!(crosses, 0, "no failure's cross");
}

/// Given the selection it was run for, a report opens with how much of it
/// is recorded (a failure is recorded) and lists what remains.
#[test]
fn a_report_says_which_benchmarks_of_its_selection_remain() {
    use cnn_bench::record::StepEstimate;
    use cnn_bench::record::{code, MeasuredWith};
    let dir = scratch("report-coverage");
    let with = |code: &str| {
        Some(MeasuredWith {
            code: code.into(),
            threads: 1,
            seed: 1,
            target_seconds: 1.0,
            budget_seconds: 60.0,
            metric: Metric::Time,
            step_delay_ms: 0.0,
            malloc: Default::default(),
        })
    };
    let mut tch = record("tch", None);
    tch.estimate = Some(StepEstimate::of(&[2e6, 2e6]));
    tch.settings = with(code(Framework::Tch));
    write_record(&dir, &group(), &case("tch"), &tch).unwrap();
    // Measured with other step code: a resumed run measures it again.
    let mut candle = record("candle", Some("out of memory"));
    candle.settings = with("0123456789abcdef");
    write_record(&dir, &group(), &case("candle"), &candle).unwrap();
    let cases: Vec<(Group, Case)> = ["tch", "candle", "ort"]
        .iter()
        .map(|f| (group(), case(f)))
        .collect();
    // The grid the records were measured under (`with`'s settings).
    let mut grid = cnn_bench::grid::Grid::from_vars(&Default::default()).unwrap();
    (grid.seed, grid.target_seconds, grid.budget_seconds) = (1, 1.0, 60.0);
    grid.malloc = Default::default();
    let expected = Some((&grid, cases.as_slice()));
    let out = dir.join("report");
    let (_, summary) =
        cnn_bench::publish::write(std::slice::from_ref(&dir), "new", expected, &out).unwrap();
    assert!(
        summary.starts_with("2 of 3 selected benchmarks recorded (1 of them with older step code, which a resumed run measures again); 1 remain; 2 benchmarks"),
        "{summary}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.starts_with(
            "## Coverage\n\n2 of 3 selected benchmarks recorded (1 of them with older step code, which a resumed run measures again); 1 remain.\n\n## "
        ),
        "{md}"
    );
    // In the table, ort's cell, selected and not recorded, waits (`…`),
    // said under the table.
    assert!(
        md.contains("| resnet18 | 64 | 2 | ~2.00 ms (1.00) | - [1]† | … |"),
        "{md}"
    );
    assert!(md.contains("\n\n… (1 cells): not recorded yet"), "{md}");
    // What remains comes last, after the tables: per group and framework
    // the never recorded and, in brackets, those measured again (candle's
    // older step code), then the never recorded by id.
    let remaining = &md[md.find("## Remaining benchmarks").expect(&md)..];
    assert!(
        remaining.starts_with("## Remaining benchmarks\n\nNot recorded yet: 1. "),
        "{remaining}"
    );
    assert!(
        remaining.trim_end().ends_with(
            "| group | candle | ort | all |\n|---|---|---|---|\n\
             | resnet18/cpu/inference | 0 (1) | 1 | 1 (1) |\n\
             | all | 0 (1) | 1 | 1 (1) |\n\n\
             - `resnet18/cpu/inference/ort/size64-batch2`"
        ),
        "{remaining}"
    );
    // The figures drawn beside report.md are images in it, after the
    // tables and before what remains, each link to a file that is there.
    let figures = &md[md.find("## Figures\n\n").expect(&md)..md.find("## Remaining").unwrap()];
    assert!(md.find("## Figures").unwrap() > md.find("## Inference step time, CPU").unwrap());
    let mut linked: Vec<&str> = figures
        .lines()
        .filter_map(|l| l.strip_prefix("![")?.split("](").nth(1)?.strip_suffix(')'))
        .collect();
    let mut drawn: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    drawn.sort();
    assert!(!drawn.is_empty());
    // Every drawn figure is linked once and nothing else is: compared as
    // sorted lists, since the report's order is the figures' own.
    linked.sort();
    assert_eq!(linked, drawn, "{figures}");
    // Each image's alt text is its figure's title (what a reader without
    // the image gets), not its file's name.
    assert!(
        figures.contains("![inference step time relative to the fastest framework, cpu](relative-time-cpu-inference.svg)\n"),
        "{figures}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<h2>Coverage</h2>"), "{html}");
    let at = |h: &str| html.find(&format!("<h2>{h}</h2>")).expect(h);
    assert!(
        at("Remaining benchmarks") > at("Figures")
            && at("Figures") > at("Inference step time, CPU"),
        "{html}"
    );
    // A record outside the selection (an earlier run's, in the same
    // folder) is in the tables, and the coverage says so.
    write_record(&dir, &group(), &case("tract"), &record("tract", None)).unwrap();
    let (_, summary) =
        cnn_bench::publish::write(std::slice::from_ref(&dir), "new", expected, &out).unwrap();
    assert!(
        summary.contains("1 remain; 1 other recorded benchmark, outside this selection, is in the tables too; 3 benchmarks"),
        "{summary}"
    );
    // ort stopped by a 60 s limit: under the grid's longer limit a resumed
    // run measures it again, and the coverage says so; under 60 s, final.
    let mut ort = record("ort", Some("timed out after 60 s while preparing"));
    ort.settings = with(code(Framework::Ort));
    ort.timed_out_after = Some(60.0);
    write_record(&dir, &group(), &case("ort"), &ort).unwrap();
    grid.time_limit_seconds = 120.0;
    let at = |grid: &cnn_bench::grid::Grid| {
        let expected = Some((grid, cases.as_slice()));
        let (_, summary) =
            cnn_bench::publish::write(std::slice::from_ref(&dir), "new", expected, &out).unwrap();
        summary
    };
    assert!(
        at(&grid).starts_with("3 of 3 selected benchmarks recorded (1 of them with older step code and 1 failed by a shorter time limit than their framework's now, which a resumed run measures again); 0 remain"),
        "{}",
        at(&grid)
    );
    // Nothing missing, two to measure again: what remains is still counted
    // per group and framework, with no list of ids.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.trim_end().ends_with(
            "## Remaining benchmarks\n\nNot recorded yet: 0. Per group and framework, what a resumed run measures: the benchmarks not recorded yet and, in brackets, the recorded ones it measures again (older step code, failed by a shorter time limit than their framework's now, or measured under other settings than the grid's).\n\n\
             | group | candle | ort | all |\n|---|---|---|---|\n\
             | resnet18/cpu/inference | 0 (1) | 0 (1) | 0 (2) |\n\
             | all | 0 (1) | 0 (1) | 0 (2) |"
        ),
        "{md}"
    );
    grid.time_limit_seconds = 60.0;
    assert!(
        at(&grid).starts_with("3 of 3 selected benchmarks recorded (1 of them with older step code, which a resumed run measures again); 0 remain"),
        "{}",
        at(&grid)
    );
    // Under another target (a profile's), tch's and ort's records are of
    // other settings: a resumed run of that grid measures them again.
    grid.target_seconds = 5.0;
    assert!(
        at(&grid).starts_with("3 of 3 selected benchmarks recorded (1 of them with older step code and 2 measured under another seed, target, budget or malloc than the grid's, which a resumed run measures again); 0 remain"),
        "{}",
        at(&grid)
    );
    // Without a selection, no coverage.
    let (_, summary) =
        cnn_bench::publish::write(std::slice::from_ref(&dir), "new", None, &out).unwrap();
    assert!(summary.starts_with("4 benchmarks"), "{summary}");
}

/// report.csv gives each benchmark's time relative to `pytorch`'s in the
/// same configuration; none where either has no number.
#[test]
fn the_csv_relates_every_time_to_pytorchs() {
    use cnn_bench::record::StepEstimate;
    let dir = scratch("report-relative");
    for (fw, ms) in [("tch", Some(2.0)), ("pytorch", Some(4.0)), ("candle", None)] {
        let mut r = record(fw, ms.is_none().then_some("out of memory"));
        r.estimate = ms.map(|ms| StepEstimate::of(&[ms * 1e6, ms * 1e6]));
        write_record(&dir, &group(), &case(fw), &r).unwrap();
    }
    let rows = report::collect(&dir, "new").unwrap();
    let relative: Vec<(Framework, Option<f64>)> = report::csv_rows(&rows)
        .iter()
        .map(|r| (r.framework, r.relative_to_pytorch))
        .collect();
    assert!(
        relative.contains(&(Framework::Tch, Some(0.5))),
        "{relative:?}"
    );
    assert!(
        relative.contains(&(Framework::Pytorch, Some(1.0))),
        "{relative:?}"
    );
    assert!(
        relative.contains(&(Framework::Candle, None)),
        "{relative:?}"
    );
}

#[test]
fn a_table_says_its_malloc_setting_and_warns_when_it_mixes_two() {
    use cnn_bench::grid::Malloc;
    use cnn_bench::record::StepEstimate;
    let dir = scratch("report-malloc");
    for (fw, malloc) in [("tch", Malloc::Retain), ("pytorch", Malloc::Retain)] {
        let mut r = record(fw, None);
        r.estimate = Some(StepEstimate::of(&[2e6, 2e6]));
        r.run.malloc = malloc;
        write_record(&dir, &group(), &case(fw), &r).unwrap();
    }
    let rows = report::collect(&dir, "new").unwrap();
    let md = report::markdown(&rows);
    assert!(md.contains("glibc's malloc: `retain`"), "{md}");
    // Kept through the CSV a report can be made again from.
    let csv = dir.join("report.csv");
    report::write_csv(&rows, &csv).unwrap();
    let again = report::markdown(&report::rows_from_csv(&csv).unwrap());
    assert!(again.contains("glibc's malloc: `retain`"), "{again}");

    let mut other = record("tch-jit", None);
    other.estimate = Some(StepEstimate::of(&[2e6, 2e6]));
    write_record(&dir, &group(), &case("tch-jit"), &other).unwrap();
    let md = report::markdown(&report::collect(&dir, "new").unwrap());
    assert!(
        md.contains("this table mixes malloc settings** (`default`, `retain`)"),
        "{md}"
    );
    // glibc's defaults (every run before the setting) go unsaid.
    let plain = scratch("report-malloc-default");
    write_record(&plain, &group(), &case("tch"), &other).unwrap();
    let md = report::markdown(&report::collect(&plain, "new").unwrap());
    assert!(!md.contains("malloc"), "{md}");
}

/// A report made again from its CSV marks the figures of older step code
/// (`†`) and the failures by a shorter time limit as the original did:
/// report.csv keeps the settings a resumed run compares, the step code's
/// hash among them, and the time limit that stopped a benchmark.
#[test]
fn a_report_made_again_from_its_csv_marks_older_step_code_as_the_original() {
    use cnn_bench::grid::Malloc;
    use cnn_bench::record::{code, MeasuredWith, StepEstimate};
    let dir = scratch("report-csv-step-code");
    for (fw, hash) in [
        ("tch", code(Framework::Tch)),
        ("tch-jit", "0123456789abcdef"),
    ] {
        let mut r = record(fw, None);
        r.estimate = Some(StepEstimate::of(&[2e6, 3e6]));
        r.settings = Some(MeasuredWith {
            code: hash.into(),
            threads: 1,
            seed: 1,
            target_seconds: 2.0,
            budget_seconds: 10.0,
            metric: Metric::Time,
            step_delay_ms: 0.0,
            malloc: Malloc::Default,
        });
        write_record(&dir, &group(), &case(fw), &r).unwrap();
    }
    // And a failure by a time limit, which a longer limit measures again.
    let mut stopped = record("candle", Some("timed out after 9 s while preparing"));
    stopped.timed_out_after = Some(9.0);
    write_record(&dir, &group(), &case("candle"), &stopped).unwrap();
    let rows = report::collect(&dir, "new").unwrap();
    let md = report::markdown(&rows);
    assert!(md.contains("this build's step code only"), "{md}");
    assert!(md.contains("ms† ("), "{md}");
    let csv = dir.join("report.csv");
    report::write_csv(&rows, &csv).unwrap();
    let again = report::rows_from_csv(&csv).unwrap();
    assert_eq!(report::markdown(&again), md);
    let older: Vec<_> = again.iter().filter(|r| r.older_step_code()).collect();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].record.case.framework, Framework::TchJit);
    let of = |fw| {
        again
            .iter()
            .find(|r| r.record.case.framework == fw)
            .unwrap()
    };
    let settings = of(Framework::Tch).record.settings.as_ref().unwrap();
    assert_eq!((settings.seed, settings.budget_seconds), (1, 10.0));
    assert!(of(Framework::Candle)
        .record
        .failed_under_a_shorter_limit(10.0));

    // A CSV written before these columns reads as before: nothing marked.
    let new_columns = [
        "timed_out_after",
        "not_run_under",
        "seed",
        "step_code",
        "target_seconds",
        "budget_seconds",
        "step_delay_ms",
    ];
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let keep: Vec<usize> = (0..headers.len())
        .filter(|&i| !new_columns.contains(&&headers[i]))
        .collect();
    assert_eq!(keep.len(), headers.len() - new_columns.len());
    let old_csv = dir.join("old-report.csv");
    let mut writer = csv::Writer::from_path(&old_csv).unwrap();
    writer
        .write_record(keep.iter().map(|&i| &headers[i]))
        .unwrap();
    for line in reader.records() {
        let line = line.unwrap();
        writer.write_record(keep.iter().map(|&i| &line[i])).unwrap();
    }
    writer.flush().unwrap();
    let old = report::rows_from_csv(&old_csv).unwrap();
    assert_eq!(old.len(), 3);
    assert!(old.iter().all(|r| r.record.settings.is_none()));
    let grid = cnn_bench::grid::Grid::from_vars(&Default::default()).unwrap();
    assert!(old.iter().all(|r| r.record.measured_again(&grid).is_none()));
    let md = report::markdown(&old);
    assert!(
        !md.contains("ms† (") && !md.contains("this build's step code only"),
        "{md}"
    );
    // Written again, its rows say no seed rather than 0.
    let rewritten = dir.join("old-again.csv");
    report::write_csv(&old, &rewritten).unwrap();
    let mut reader = csv::Reader::from_path(&rewritten).unwrap();
    let seed = reader.headers().unwrap().iter().position(|h| h == "seed");
    let seeds: Vec<String> = reader
        .records()
        .map(|l| l.unwrap()[seed.unwrap()].to_string())
        .collect();
    assert_eq!(seeds, ["", "", ""]);
}

/// Published CSVs merge as criterion folders do (`report --csv A --csv B`):
/// a benchmark in both is taken from the later run, and a warning says so.
#[test]
fn published_csvs_merge_keeping_the_later_run_of_a_benchmark_in_both() {
    use cnn_bench::record::StepEstimate;
    let dir = scratch("report-csv-merge");
    let mut csvs = Vec::new();
    for (run, date, step) in [
        ("a", "2026-12-01T00:00:00Z", 4e6),
        ("b", "2026-12-02T00:00:00Z", 2e6),
    ] {
        let folder = dir.join(run);
        let mut r = record("tch", None);
        r.estimate = Some(StepEstimate::of(&[step, step]));
        r.run.date = date.into();
        write_record(&folder, &group(), &case("tch"), &r).unwrap();
        let csv = folder.join("report.csv");
        report::write_csv(&report::collect(&folder, "new").unwrap(), &csv).unwrap();
        csvs.push(report::rows_from_csv(&csv).unwrap());
    }
    // Either order: the later run's is kept.
    for runs in [csvs.clone(), csvs.into_iter().rev().collect()] {
        let (rows, warnings) = report::merge(runs);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].mean(), Some(2e6));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].ends_with("report-csv-merge/b/report.csv, is kept"),
            "{warnings:?}"
        );
    }
}

/// Runs that share many benchmarks (a shard given twice, overlapping
/// slices) warn once per pair of runs, with a count and which run's each
/// kept, not once per benchmark.
#[test]
fn a_merge_of_runs_sharing_many_benchmarks_warns_once_per_pair() {
    use cnn_bench::record::StepEstimate;
    let dir = scratch("report-merge-many");
    let mut runs = Vec::new();
    for (run, date) in [("a", "2026-12-01T00:00:00Z"), ("b", "2026-12-02T00:00:00Z")] {
        let folder = dir.join(run);
        for f in ["tch", "tch-jit", "candle", "ort"] {
            let mut r = record(f, None);
            r.estimate = Some(StepEstimate::of(&[2e6, 2e6]));
            r.run.date = date.into();
            write_record(&folder, &group(), &case(f), &r).unwrap();
        }
        runs.push(report::collect(&folder, "new").unwrap());
    }
    let (a, b) = (dir.join("a"), dir.join("b"));
    let (rows, warnings) = report::merge(runs.clone());
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.root == b), "the later run's kept");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    assert!(
        w.starts_with(&format!(
            "4 benchmarks are in both {} and {} (",
            a.display(),
            b.display()
        )) && w.ends_with(&format!("kept: 4 {}'s, the later run", b.display()))
            && w.contains(", ...)"),
        "{w}"
    );
    // The same run given twice: said as such, each benchmark counted once.
    let (rows, warnings) = report::merge(vec![runs[0].clone(), runs[0].clone()]);
    assert_eq!(rows.len(), 4);
    assert_eq!(
        warnings,
        [format!(
            "{} is given twice: its 4 benchmark(s) are counted once",
            a.display()
        )]
    );
}
