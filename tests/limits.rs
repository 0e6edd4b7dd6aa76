//! The harness under time: a benchmark that hangs past its time limit is
//! stopped and recorded while the run goes on (in a child process and in
//! this process), a step too slow for criterion's 10 samples in the budget
//! becomes an estimate that the report flags, and a run stopped by its
//! deadline finishes on the next run without measuring anything twice,
//! measuring what was never recorded before what is stale; a saved
//! baseline keeps its own run's record; criterion's test mode runs the
//! steps and records nothing; a benchmark measured beside other work is
//! said and marked; one that crashes the harness's own process is
//! isolated and recorded by the next run; a record that cannot be read is
//! named and measured again.
//! Each test runs the real harness (`cnn-bench-run`, what `cargo bench`
//! runs) on resnet18 at 64x64 on the CPU, with tch and tract.

mod small_grid;

use cnn_bench::identities::Status;
use cnn_bench::record::Record;
use small_grid::{scratch, small_grid, started_at};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One harness at a time: each runs several processes, and on a loaded
/// 2-core machine parallel ones would make the timings these tests bound
/// (a limit, a deadline) a matter of luck.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The harness on resnet18, 64x64, CPU inference, tch then tract, with
/// `batches`, into `out`.
fn command(out: &Path, batches: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cnn-bench-run"));
    small_grid(&mut cmd, "0.3")
        .args(["--bench", "--noplot", "--nresamples", "1000"])
        .args(args)
        .env("CRITERION_HOME", out)
        .env("CNN_BENCH_REPORT", format!("{}-report", out.display()))
        .env("CNN_BENCH_BATCHES", batches)
        .env("CNN_BENCH_FRAMEWORKS", "tch,tract");
    cmd
}

/// Runs [`command`] with `vars`; returns the exit status and what it said.
fn harness(out: &Path, batches: &str, vars: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let o = command(out, batches, args)
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stderr).into_owned();
    (o.status.code().unwrap_or(-1), said)
}

/// What `--list` with `args` prints for [`command`]: the ids, in order,
/// and what it says on stderr.
fn list(out: &Path, batches: &str, args: &[&str]) -> (Vec<String>, String) {
    list_with(out, batches, &[], args)
}

/// [`list`] with `vars` set.
fn list_with(
    out: &Path,
    batches: &str,
    vars: &[(&str, &str)],
    args: &[&str],
) -> (Vec<String>, String) {
    let o = command(out, batches, &[&["--list"], args].concat())
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{said}");
    let ids = String::from_utf8(o.stdout).unwrap();
    let ids = ids
        .lines()
        .map(|l| l.strip_suffix(": benchmark").unwrap_or(l).to_string())
        .collect();
    (ids, said)
}

/// The ids `--list` with `args` prints for [`command`], in order.
fn listed(out: &Path, batches: &str, args: &[&str]) -> Vec<String> {
    list(out, batches, args).0
}

fn record(out: &Path, framework: &str, batch: usize) -> Option<Record> {
    let path = out.join(format!(
        "resnet18_cpu_inference/{framework}/size64-batch{batch}/cnn-bench.json"
    ));
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).unwrap())
}

/// The marker a benchmark measured in the harness's own process leaves
/// until its record is written (`cnn_bench::running`).
fn marker(out: &Path, framework: &str, batch: usize) -> PathBuf {
    out.join(format!(
        "resnet18_cpu_inference/{framework}/size64-batch{batch}/cnn-bench-running.json"
    ))
}

fn hang_past_the_limit(isolate: &str) {
    let out = scratch(&format!("limits-hang-{isolate}"));
    let (code, said) = harness(
        &out,
        "1",
        &[
            ("CNN_BENCH_ISOLATE", isolate),
            ("CNN_BENCH_TIME_LIMIT", "10"),
            ("CNN_BENCH_HANG", "preparing@/tch/"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{said}");
    let tch = record(&out, "tch", 1).expect("the hung benchmark is recorded");
    assert_eq!(tch.status, Status::Failed, "{said}");
    assert_eq!(
        tch.reason.as_deref(),
        Some("timed out after 10 s while preparing"),
        "{said}"
    );
    // Where its time went: preparing, until the kill.
    let hung = tch
        .stages
        .expect("the hung benchmark's stages are recorded");
    assert!(hung.preparing.is_some_and(|s| s > 5.0), "{hung:?}");
    assert_eq!((hung.measuring, hung.finishing), (None, None));
    // Stopped by its limit, not by a crash: the next run need not isolate it.
    assert!(!marker(&out, "tch", 1).exists());
    // The run went on: tract, after tch, was measured, every stage timed.
    let tract = record(&out, "tract", 1).expect("the run went on");
    assert_eq!((tract.status, tract.reason), (Status::Ok, None), "{said}");
    let stages = tract.stages.expect("tract's stages are recorded");
    assert!(stages.seconds().iter().all(Option::is_some), "{stages:?}");
    assert!(
        said.contains("1 benchmark(s) measured") && said.contains("1 failed"),
        "{said}"
    );
    // The run's duration spans the limit, also where the harness restarted
    // after it (the restarted process alone took a few seconds).
    let took = run_seconds(&said).expect("the run's last line says how long it took");
    assert!(took >= 10, "{took} s\n{said}");
}

/// The seconds the run's last line says it took (`... failed, in 1 min 02 s`).
fn run_seconds(said: &str) -> Option<u64> {
    let line = said.lines().rev().find(|l| l.contains(" failed, in "))?;
    let took = line.split(" failed, in ").nth(1)?.split(';').next()?;
    let words: Vec<&str> = took.split_whitespace().collect();
    match words[..] {
        [s, "s"] => s.parse().ok(),
        [m, "min", s, "s"] => Some(60 * m.parse::<u64>().ok()? + s.parse::<u64>().ok()?),
        _ => None,
    }
}

#[test]
fn a_child_past_its_time_limit_is_killed_and_recorded_and_the_run_goes_on() {
    hang_past_the_limit("all");
}

#[test]
fn an_in_process_benchmark_past_its_limit_is_recorded_and_the_harness_restarts_on_the_rest() {
    hang_past_the_limit("none");
}

/// Runs `frameworks` on batches 1 and 2 with tch's batch 1 hanging until
/// its 8 s limit; checks that it was stopped there and that batch 2 was
/// recorded as failed without being started; returns what the harness said.
fn tch_batch_1_past_the_limit(out: &Path, frameworks: &str, args: &[&str]) -> String {
    let vars = [
        ("CNN_BENCH_FRAMEWORKS", frameworks),
        ("CNN_BENCH_ISOLATE", "all"),
        ("CNN_BENCH_TIME_LIMIT", "8"),
        ("CNN_BENCH_HANG", "preparing@/tch/size64-batch1$"),
    ];
    let (code, said) = harness(out, "1,2", &vars, args);
    assert_eq!(code, 0, "{said}");
    let small = record(out, "tch", 1).expect("recorded");
    assert_eq!(small.timed_out_after, Some(8.0), "{said}");
    // Batch 2 would not hang, but it is larger than batch 1, which ran past
    // the limit: recorded as failed, saying why, without being started.
    let large = record(out, "tch", 2).expect("recorded");
    assert_eq!(large.status, Status::Failed, "{said}");
    assert_eq!(
        large.reason.as_deref(),
        Some("not run: resnet18/cpu/inference/tch/size64-batch1 ran past the 8 s limit, and this configuration is no smaller"),
        "{said}"
    );
    assert_eq!(
        (large.timed_out_after, large.not_run_under),
        (None, Some(8.0))
    );
    // Every benchmark runs in a child here, but this one ran in none.
    assert!(!large.isolated, "{said}");
    assert!(!said.contains("tch/size64-batch2: preparing"), "{said}");
    said
}

#[test]
fn a_configuration_larger_than_one_past_the_limit_is_not_run_again() {
    let out = scratch("limits-outgrown");
    tch_batch_1_past_the_limit(&out, "tch,tract", &[]);
    // tract's benchmarks are other frameworks': measured.
    assert_eq!(record(&out, "tract", 2).map(|r| r.status), Some(Status::Ok));
    // Resumed under the same limit, the limit's failures are final.
    let same = [("CNN_BENCH_ISOLATE", "all"), ("CNN_BENCH_TIME_LIMIT", "8")];
    let (code, said) = harness(&out, "1,2", &same, &["--resume"]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("resume: 4 of 4 benchmark(s) already recorded"),
        "{said}"
    );
    // Under a longer limit the earlier stop decides nothing: a resumed run
    // with tch's own limit longer (the others' as before) measures both of
    // tch's again (the hang gone), and nothing else.
    let (code, said) = harness(
        &out,
        "1,2",
        &[
            ("CNN_BENCH_ISOLATE", "all"),
            ("CNN_BENCH_TIME_LIMIT", "8"),
            ("CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK", "tch=60"),
        ],
        &["--resume"],
    );
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("resume: 2 of 4 benchmark(s) already recorded"),
        "{said}"
    );
    for batch in [1, 2] {
        assert_eq!(
            record(&out, "tch", batch).map(|r| r.status),
            Some(Status::Ok),
            "{said}"
        );
    }
}

#[test]
fn a_deadline_does_not_hold_back_what_the_limit_already_decided() {
    let out = scratch("limits-outgrown-deadline");
    // tch alone, a 15 s deadline: after batch 1's 8 s limit less is left
    // than a guessed benchmark (10 s and more), yet batch 2, which the
    // limit's rule records at once without starting it, is recorded.
    let said = tch_batch_1_past_the_limit(&out, "tch", &["--max-time", "15"]);
    assert!(said.contains("0 benchmark(s) remain"), "{said}");
}

#[test]
fn a_hang_while_measuring_is_reported_as_such() {
    let out = scratch("limits-hang-measuring");
    let (code, said) = harness(
        &out,
        "1",
        &[
            ("CNN_BENCH_ISOLATE", "all"),
            ("CNN_BENCH_TIME_LIMIT", "10"),
            ("CNN_BENCH_HANG", "measuring@/tract/"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{said}");
    let tract = record(&out, "tract", 1).unwrap();
    assert_eq!(
        tract.reason.as_deref(),
        Some("timed out after 10 s while measuring"),
        "{said}"
    );
    assert_eq!(record(&out, "tch", 1).unwrap().status, Status::Ok);
}

#[test]
fn a_step_too_slow_for_the_budget_is_an_estimate_the_report_flags() {
    let out = scratch("limits-budget");
    // 10 samples of a step of over 400 ms do not fit a 1.5 s budget: as
    // many as fit do (3 for a step under 500 ms), at least 2.
    let (code, said) = harness(
        &out,
        "1",
        &[
            ("CNN_BENCH_FRAMEWORKS", "tch"),
            ("CNN_BENCH_STEP_DELAY_MS", "400"),
            ("CNN_BENCH_BUDGET", "1.5"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{said}");
    let r = record(&out, "tch", 1).unwrap();
    let e = r.estimate.expect("an estimate");
    let first: f64 = said
        .split("first step ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|s| s.parse().ok())
        .expect("the run says its first step's time");
    let fit = ((1.5 / first) as usize).max(2);
    assert_eq!((r.status, e.steps), (Status::Ok, fit), "{said}");
    assert!(
        e.mean >= 400e6 && e.min >= 400e6 && e.max >= e.mean,
        "{e:?}"
    );
    assert_eq!(r.samples, None, "criterion did not measure it");
    assert!(said.contains("as estimates"), "{said}");
    // The run wrote its report and said where.
    let written = format!("{}-report", out.display());
    assert!(
        said.contains(&format!("open {written}/index.html")),
        "{said}"
    );
    let md = std::fs::read_to_string(Path::new(&written).join("report.md")).unwrap();
    let shown = format!("| ~{}", cnn_bench::report::format_ns(e.mean));
    assert!(md.contains(&shown), "{shown}\n{md}");

    let report = out.join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_cnn-bench"))
        .args(["report", "--criterion"])
        .arg(&out)
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    // Without the mark of a figure measured beside other work (the other
    // tests' processes, say): that is not what this test checks.
    let line = md
        .lines()
        .find(|l| l.starts_with("| resnet18 | 64 | 1 |"))
        .unwrap()
        .replace(cnn_bench::contention::MARK, "");
    assert!(line.contains(&format!("{shown} (1.00)")), "{shown}\n{md}");
    assert!(
        md.contains("## Estimates") && md.contains(&format!("from {fit} steps")),
        "{md}"
    );
    let mut csv = csv::Reader::from_path(report.join("report.csv")).unwrap();
    let headers = csv.headers().unwrap().clone();
    let row = csv.records().next().unwrap().unwrap();
    let col = |name: &str| &row[headers.iter().position(|h| h == name).unwrap()];
    assert_eq!((col("estimate"), col("steps")), ("true", &*fit.to_string()));
    assert_eq!(col("mean_ci_low"), "", "an estimate has no interval");
    let svg = std::fs::read_to_string(report.join("relative-time-cpu-inference.svg")).unwrap();
    // The figure marks it: a hollow circle in a framework's colour (the
    // legend's hollow circle is black).
    let hollow = svg
        .split("<circle")
        .skip(1)
        .map(|s| &s[..s.find('>').unwrap()])
        .any(|c| c.contains("fill=\"none\"") && !c.contains("#000000"));
    assert!(hollow, "the figure marks it\n{svg}");
}

/// Busy loops that end with the test, passing or not.
struct BusyLoops(Vec<std::process::Child>);

impl BusyLoops {
    /// One per CPU the test may use (at least two).
    fn start() -> Self {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        BusyLoops(
            (0..n)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .unwrap()
                })
                .collect(),
        )
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A benchmark measured while processes outside the run keep the CPUs
/// busy keeps its figure, and is said at the run's end, recorded with what
/// ran beside it, and marked `‡` in report.md (a note says what was seen)
/// and in report.csv's columns; a figure that slow is no longer taken for
/// the framework's on that machine. `--retry-busy` measures it again.
#[test]
fn a_benchmark_measured_beside_other_work_is_said_recorded_and_marked() {
    let out = scratch("limits-beside");
    // The busy loops run only while this test holds the harness: they
    // would slow the other tests' runs.
    let one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let busy = BusyLoops::start();
    let o = command(&out, "1", &[])
        .env("CNN_BENCH_FRAMEWORKS", "tract")
        .output()
        .unwrap();
    drop((busy, one));
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{said}");
    let r = record(&out, "tract", 1).unwrap();
    assert_eq!(r.status, Status::Ok, "{said}");
    let w = r.other_work.expect("read while it was measured");
    assert!(w.busy() && w.other_cores > 0.25 && w.cpus >= 1, "{w:?}");
    assert!(
        said.contains("resnet18/cpu/inference/tract/size64-batch1: measured beside other work: other processes kept")
            && said.contains("1 benchmark(s) measured beside other work"),
        "{said}"
    );
    let report = PathBuf::from(format!("{}-report", out.display()));
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    let line = md
        .lines()
        .find(|l| l.starts_with("| resnet18 | 64 | 1 |"))
        .unwrap();
    assert!(line.contains("‡ (1.00)"), "{md}");
    assert!(
        md.contains("## Measured beside other work")
            && md.contains("- `resnet18/cpu/inference/tract/size64-batch1`: other processes kept"),
        "{md}"
    );
    let mut csv = csv::Reader::from_path(report.join("report.csv")).unwrap();
    let headers = csv.headers().unwrap().clone();
    let row = csv.records().next().unwrap().unwrap();
    let col = |name: &str| &row[headers.iter().position(|h| h == name).unwrap()];
    let other: f64 = col("other_cores").parse().unwrap();
    assert!((other - w.other_cores).abs() < 1e-9, "{other} {w:?}");
    assert_eq!(col("cpus"), w.cpus.to_string());
    // A resumed run keeps its figure; `--retry-busy` measures it again.
    let tract = [("CNN_BENCH_FRAMEWORKS", "tract")];
    let (code, said) = harness(&out, "1", &tract, &["--resume"]);
    assert!(
        code == 0 && said.contains("1 skipped (already recorded)"),
        "{said}"
    );
    let (code, said) = harness(&out, "1", &tract, &["--retry-busy"]);
    assert!(
        code == 0 && said.contains("retry busy: 1 of 1 benchmark(s) measured while other work kept the machine busy are measured again"),
        "{said}"
    );
    assert_ne!(record(&out, "tract", 1).unwrap().run_id, r.run_id);
}

/// A saved baseline is read with its own run's record: before, each run
/// replaced the one record of a benchmark, so after a step slowed from 300
/// to 700 ms (an estimate: the record holds its figures),
/// `compare target/criterion:main target/criterion` read the latest record
/// on both sides and said "+0.0%, within noise"; a baseline's failures,
/// memory and machine were the latest run's too.
#[test]
fn a_benchmark_that_crashes_an_in_process_run_is_isolated_and_recorded_by_the_next() {
    let out = scratch("limits-crash");
    let in_process = ("CNN_BENCH_ISOLATE", "none");
    let abort = [
        in_process,
        ("CNN_BENCH_ABORT", "measuring@/tch/size64-batch1$"),
    ];
    // The crash ends the run itself: nothing recorded, tract never started.
    let (code, said) = harness(&out, "1", &abort, &[]);
    assert_ne!(code, 0, "{said}");
    assert!(
        said.contains("CNN_BENCH_ABORT: aborting while measuring"),
        "{said}"
    );
    assert!(record(&out, "tch", 1).is_none() && record(&out, "tract", 1).is_none());
    assert!(marker(&out, "tch", 1).exists(), "{said}");
    // Resumed, still crashing: tch runs in a child process, whose end is
    // its recorded failure, and the run goes on.
    let (code, said) = harness(&out, "1", &abort, &["--resume"]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("ended before recording it")
            && said.contains("measured in a child process of its own this time"),
        "{said}"
    );
    let tch = record(&out, "tch", 1).expect("the crash is recorded");
    assert_eq!((tch.status, tch.isolated), (Status::Failed, true), "{said}");
    let reason = tch.reason.unwrap_or_default();
    assert!(
        reason.starts_with("child process killed by signal 6 (SIGABRT"),
        "{reason}"
    );
    let tract = record(&out, "tract", 1).expect("the run went on");
    assert_eq!(tract.status, Status::Ok, "{said}");
    assert!(
        !marker(&out, "tch", 1).exists(),
        "recorded: the marker goes"
    );
    assert!(
        said.contains("1 benchmark(s) measured") && said.contains("1 failed"),
        "{said}"
    );
    // Once recorded, the failure is done; retried without the crash, it
    // is measured in this process again.
    let (code, said) = harness(&out, "1", &[in_process], &["--resume", "--retry-failed"]);
    assert_eq!(code, 0, "{said}");
    let tch = record(&out, "tch", 1).expect("measured");
    assert_eq!((tch.status, tch.isolated), (Status::Ok, false), "{said}");
    assert!(!said.contains("ended before recording it"), "{said}");
}

#[test]
fn a_second_run_into_a_folder_being_measured_is_refused_and_the_first_ones_end_frees_it() {
    use std::io::{BufRead, BufReader};
    let out = scratch("limits-lock");
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The first run hangs while preparing tch, in its own process.
    let mut first = command(&out, "1", &[])
        .env("CNN_BENCH_HANG", "preparing@/tch/")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(first.stderr.take().unwrap()).lines();
    let said: Vec<String> = lines
        .map_while(Result::ok)
        .take_while(|l| !l.ends_with("tch/size64-batch1: preparing"))
        .collect();
    assert!(
        said.iter().any(|l| l.contains("benchmark(s) to run")),
        "{said:?}"
    );
    let second = command(&out, "1", &[]).output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another run is measuring into")
            && err.contains(&format!("pid {} on ", first.id())),
        "{err}"
    );
    // A shard of the same folder measures the same benchmarks: refused.
    let shard = command(&out, "1", &["--shard", "1/2"]).output().unwrap();
    let err = String::from_utf8_lossy(&shard.stderr);
    assert_eq!(shard.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("pid {} on ", first.id())) && err.contains("not sharded"),
        "{err}"
    );
    // `--list` only reads: it is not refused.
    let listed = command(&out, "1", &["--list"]).output().unwrap();
    assert!(listed.status.success());
    first.kill().unwrap();
    first.wait().unwrap();
    // Killed, the first frees the folder; the benchmark it was preparing
    // in itself is measured in a child by the next run, said.
    let (code, said) = {
        let o = command(&out, "1", &[]).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("ended before recording it"), "{said}");
    assert_eq!(
        record(&out, "tch", 1).map(|r| (r.status, r.isolated)),
        Some((Status::Ok, true))
    );
}

#[test]
fn a_saved_baseline_keeps_its_own_runs_record_and_compare_sees_the_change() {
    let out = scratch("limits-baseline");
    let run = |delay_ms: &str, args: &[&str]| {
        let vars = [
            ("CNN_BENCH_FRAMEWORKS", "tch"),
            ("CNN_BENCH_STEP_DELAY_MS", delay_ms),
            ("CNN_BENCH_BUDGET", "1"),
        ];
        let (code, said) = harness(&out, "1", &vars, args);
        assert_eq!(code, 0, "{said}");
    };
    run("300", &["--save-baseline", "main"]);
    run("700", &[]);
    let mean = |baseline: &str| {
        let rows = cnn_bench::report::collect(&out, baseline).unwrap();
        assert_eq!(rows.len(), 1, "{baseline}");
        rows[0].record.estimate.expect("an estimate").mean / 1e6
    };
    let (main, new) = (mean("main"), mean("new"));
    assert!(
        (300.0..700.0).contains(&main) && new >= 700.0,
        "{main} ms, {new} ms"
    );
    // criterion's default baseline, `base`, was saved by the second run.
    assert_eq!(mean("base"), new);
    let o = Command::new(env!("CARGO_BIN_EXE_cnn-bench"))
        .arg("compare")
        .arg(format!("{}:main", out.display()))
        .arg(&out)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{said}");
    assert!(said.contains("1 regression(s)"), "{said}");
}

/// criterion's `--baseline NAME` panics at the first benchmark without
/// that saved baseline: in child processes each benchmark was recorded as
/// failed ("child process exited with status 101") over its good record.
/// Now a usage error says so before anything runs, and the records stay;
/// a resumed run needs it only for what it measures.
#[test]
fn comparing_with_a_baseline_not_saved_is_refused_and_keeps_the_records() {
    let out = scratch("limits-compared-baseline");
    let (code, said) = harness(&out, "1", &[], &[]);
    assert_eq!(code, 0, "{said}");
    let texts = || {
        ["tch", "tract"].map(|fw| {
            let path = format!("resnet18_cpu_inference/{fw}/size64-batch1/cnn-bench.json");
            std::fs::read_to_string(out.join(path)).unwrap()
        })
    };
    let before = texts();
    let isolated = [("CNN_BENCH_ISOLATE", "all")];
    let (code, said) = harness(&out, "1", &isolated, &["--baseline", "nosuch"]);
    assert_eq!(code, 2, "{said}");
    assert!(
        said.contains(
            "`--baseline nosuch`: 2 of the 2 benchmark(s) this run would measure have no saved baseline `nosuch`"
        ) && said.contains("--baseline-lenient nosuch"),
        "{said}"
    );
    assert!(!said.contains("panicked"), "{said}");
    assert_eq!(texts(), before, "{said}");
    // Resumed, the run measures neither (both recorded with these
    // settings), so neither needs the baseline.
    let resumed = ["--baseline", "nosuch", "--resume"];
    let (code, said) = harness(&out, "1", &isolated, &resumed);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("2 skipped (already recorded)"), "{said}");
    assert_eq!(texts(), before, "{said}");
    // criterion's default baseline, saved by the first run, compares.
    let (code, said) = harness(&out, "1", &isolated, &["--baseline", "base"]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("2 benchmark(s) measured") && said.contains(" 0 failed"),
        "{said}"
    );
}

#[test]
fn a_run_stopped_by_its_deadline_finishes_on_the_next_run_without_measuring_twice() {
    let out = scratch("limits-deadline");
    let ids = |out: &Path| -> Vec<Option<String>> {
        [1, 2]
            .iter()
            .map(|b| record(out, "tch", *b).map(|r| r.run_id))
            .collect()
    };
    // tch at batches 1 and 2, new to this folder, are each guessed at
    // 2.3 s (0.3 s of criterion, 2 s more in the harness's process): both
    // are predicted to fit in 12 s. 300 ms more a step make batch 1 take
    // over 4.5 s (13 steps: two to prepare, criterion's warm-up and its 10
    // samples; 6 s on an idle 2-core machine). From its record the run
    // predicts batch 2 at over 8.5 s (twice the FLOPs, so steps of over
    // 0.6 s, 10 of them) and holds it back. Batch 1 need only end within
    // the 12 s.
    let slow = [
        ("CNN_BENCH_STEP_DELAY_MS", "300"),
        ("CNN_BENCH_FRAMEWORKS", "tch"),
    ];
    let deadline = ["--max-time", "12"];
    // `--list` says the guesses beforehand; the run decides as it goes.
    let (listed, said) = list_with(&out, "1,2", &slow, &deadline);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        said.contains("2 benchmark(s) to run, about 5 s")
            && said.contains("deadline: 2 of these 2 are predicted to fit before it, about 5 s"),
        "{said}"
    );
    let (code, said) = harness(&out, "1,2", &slow, &deadline);
    assert_eq!(code, 0, "{said}");
    // Nothing recorded yet: the start line says its estimate is a guess.
    assert!(
        said.contains("2 benchmark(s) to run, about 5 s")
            && said.contains("2 of them guessed at 2 s each"),
        "{said}"
    );
    let first = ids(&out);
    assert!(
        first[0].is_some() && first[1].is_none(),
        "{first:?}\n{said}"
    );
    assert!(
        said.contains("deadline: resnet18/cpu/inference/tch/size64-batch2 would take about")
            && said.contains("1 benchmark(s) remain (deadline)"),
        "{said}"
    );
    // The same command again finishes the grid and skips what is recorded.
    let (code, said) = harness(&out, "1,2", &slow, &["--max-time", "120"]);
    assert_eq!(code, 0, "{said}");
    let second = ids(&out);
    assert_eq!(
        second[0], first[0],
        "batch 1, recorded by the first run, ran again"
    );
    assert!(
        second[1]
            .as_ref()
            .is_some_and(|id| Some(id) != first[0].as_ref()),
        "{second:?}\n{said}"
    );
    assert!(
        said.contains("1 of 2 benchmark(s) already recorded"),
        "{said}"
    );
    assert!(said.contains("0 benchmark(s) remain"), "{said}");
}

/// The deadline does not start a benchmark predicted to finish after it,
/// and the run goes on with the next that fits: a slice's tail measures
/// cheaper cells rather than none.
#[test]
fn a_deadline_starts_the_benchmarks_that_fit_after_one_that_does_not() {
    let out = scratch("limits-deadline-fit");
    // Each benchmark in a process of its own, as on a GPU. tract at batch
    // 1 first, alone: with its record, tract at batch 2 is predicted at its
    // few seconds, while tch, never recorded, is guessed at over 10 s.
    let isolated = [("CNN_BENCH_ISOLATE", "all")];
    let tract = [isolated[0], ("CNN_BENCH_FRAMEWORKS", "tract")];
    let (code, said) = harness(&out, "1", &tract, &[]);
    assert_eq!(code, 0, "{said}");
    // `--list` predicts the same choice (tract at batch 1 is recorded,
    // and these runs resume).
    let (_, said) = list_with(&out, "1,2", &isolated, &["--max-time", "9.5"]);
    assert!(
        said.contains("deadline: 1 of these 3 are predicted to fit"),
        "{said}"
    );
    let (code, said) = harness(&out, "1,2", &isolated, &["--max-time", "9.5"]);
    assert_eq!(code, 0, "{said}");
    assert!(
        record(&out, "tch", 1).is_none() && record(&out, "tch", 2).is_none(),
        "{said}"
    );
    assert_eq!(
        record(&out, "tract", 2).map(|r| r.status),
        Some(Status::Ok),
        "started after tch was held back\n{said}"
    );
    assert!(said.contains("2 benchmark(s) not started"), "{said}");
    assert!(said.contains("2 benchmark(s) remain (deadline)"), "{said}");
}

/// A folder `name` with batch 1 recorded, tch's record made to look
/// measured by older step code.
fn batch_1_with_tch_stale(name: &str) -> PathBuf {
    let out = scratch(name);
    let (code, said) = harness(&out, "1", &[], &["--resume"]);
    assert_eq!(code, 0, "{said}");
    let path = out.join("resnet18_cpu_inference/tch/size64-batch1/cnn-bench.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json["settings"]["code"] = "older".into();
    std::fs::write(&path, json.to_string()).unwrap();
    out
}

/// A resumed run measures the benchmarks never recorded before those
/// recorded with older step code, so a short slice fills the grid first.
#[test]
fn a_resumed_run_measures_what_is_missing_before_what_is_stale() {
    let out = batch_1_with_tch_stale("limits-missing-first");
    // `--list` says so beforehand: without --resume, the grid's order;
    // with it, what the run measures, in its order; with --new-only, the
    // never recorded alone.
    let id = |s: &str| format!("resnet18/cpu/inference/{s}");
    let grid: Vec<String> = ["tch/size64-batch1", "tract/size64-batch1"]
        .iter()
        .chain(&["tch/size64-batch2", "tract/size64-batch2"])
        .map(|s| id(s))
        .collect();
    assert_eq!(listed(&out, "1,2", &[]), grid);
    let resumed = [grid[2].clone(), grid[3].clone(), grid[0].clone()];
    assert_eq!(listed(&out, "1,2", &["--resume"]), resumed);
    assert_eq!(listed(&out, "1,2", &["--new-only"]), resumed[..2]);
    let (code, said) = harness(&out, "1,2", &[], &["--resume"]);
    assert_eq!(code, 0, "{said}");
    let at = |id: &str| started_at(&said, id);
    let stale = at("tch/size64-batch1");
    assert!(at("tch/size64-batch2") < stale, "{said}");
    assert!(at("tract/size64-batch2") < stale, "{said}");
    assert!(!said.contains("tract/size64-batch1: about"), "{said}");
    assert!(
        said.contains("1 of 4 benchmark(s) already recorded"),
        "{said}"
    );
    assert!(
        said.contains("resume: 1 of 4 benchmark(s) recorded otherwise are measured again, after those never recorded: 1 of older step code"),
        "{said}"
    );
    // Resumed under another target (a profile's): every record is of other
    // settings, and the run says which before it measures them again.
    let (code, said) = harness(
        &out,
        "1",
        &[("CNN_BENCH_TARGET_SECONDS", "0.2")],
        &["--resume"],
    );
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("resume: 2 of 2 benchmark(s) recorded otherwise are measured again, after those never recorded: 2 under other settings: target 0.3 s (this run: 0.2 s)"),
        "{said}"
    );
}

/// `--new-only` measures only what was never recorded and leaves a record
/// of older step code as it is, for a later run (a GPU slice fills every
/// framework's empty cells before it refreshes any).
#[test]
fn a_new_only_run_measures_what_is_missing_and_keeps_what_is_stale() {
    let out = batch_1_with_tch_stale("limits-new-only");
    let (code, said) = harness(&out, "1,2", &[], &["--new-only"]);
    assert_eq!(code, 0, "{said}");
    for id in ["tch/size64-batch2", "tract/size64-batch2"] {
        assert!(
            said.contains(&format!("] resnet18/cpu/inference/{id}: about")),
            "{said}"
        );
    }
    assert!(!said.contains("batch1: about"), "{said}");
    assert!(
        said.contains("1 of 4 benchmark(s) already recorded with these settings"),
        "{said}"
    );
    assert!(
        said.contains("new only: 1 of 4 benchmark(s) recorded otherwise"),
        "{said}"
    );
    let kept = record(&out, "tch", 1).expect("kept");
    assert_eq!(kept.settings.expect("settings").code, "older", "{said}");
    // A run without it refreshes the stale record, and only that.
    let (code, said) = harness(&out, "1,2", &[], &["--resume"]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("] resnet18/cpu/inference/tch/size64-batch1: about"),
        "{said}"
    );
    assert!(
        said.contains("3 of 4 benchmark(s) already recorded"),
        "{said}"
    );
    assert_ne!(
        record(&out, "tch", 1).unwrap().settings.unwrap().code,
        "older"
    );
    let (code, said) = harness(&out, "1", &[], &["--new-only", "--retry-failed"]);
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("give one"), "{said}");
}

/// Isolated `pytorch` benchmarks take their Python workers from one
/// zygote, which imported torch once, rather than each starting Python.
#[test]
fn isolated_pytorch_benchmarks_fork_their_workers_from_one_python() {
    let out = scratch("limits-zygote");
    let vars = [
        ("CNN_BENCH_FRAMEWORKS", "pytorch"),
        ("CNN_BENCH_ISOLATE", "all"),
    ];
    let (code, said) = harness(&out, "1,2", &vars, &[]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("pytorch's workers are forked from one Python"),
        "{said}"
    );
    assert_eq!(said.matches("forked by the zygote").count(), 2, "{said}");
    assert!(!said.contains("does not answer"), "{said}");
    for batch in [1, 2] {
        let r = record(&out, "pytorch", batch).expect("recorded");
        assert_eq!(r.status, Status::Ok, "{said}");
        assert!(r.isolated);
    }
}

#[test]
fn bad_run_options_exit_with_2() {
    let out = scratch("limits-bad");
    let (code, said) = harness(&out, "1", &[], &["--shard", "5/4"]);
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("K must be between 1 and N"), "{said}");
    let (code, said) = harness(&out, "1", &[("CNN_BENCH_TIME_LIMIT", "-1")], &[]);
    assert_eq!(code, 2, "{said}");
    assert!(
        said.contains("`time_limit_seconds` must be a positive"),
        "{said}"
    );
}

/// Criterion's test mode (`cargo bench -- --test`; `cargo test --benches`
/// runs the bench binary without `--bench`, the same mode) runs each step
/// once and measures nothing: the run says so, does not time steps for an
/// estimate, and leaves the results folder as it was. Before, it wrote each benchmark an `ok` record with no
/// estimate, which the report showed as a failure and `--resume` skipped
/// as measured.
#[test]
fn criterion_test_mode_runs_the_steps_and_leaves_the_results_as_they_were() {
    let out = scratch("limits-test-mode");
    let report = PathBuf::from(format!("{}-report", out.display()));
    let _ = std::fs::remove_dir_all(&report);
    // A budget no step fits: criterion still runs each step (once), the
    // harness does not time several for an estimate.
    let (code, said) = harness(&out, "1", &[("CNN_BENCH_BUDGET", "0.001")], &["--test"]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("criterion's test mode"), "{said}");
    assert!(!said.contains("do not fit"), "{said}");
    // Nothing predicted: a measured run's figures would not say its time.
    assert!(
        said.contains("2 benchmark(s) to run, each step untimed")
            && !said.contains("left in this run"),
        "{said}"
    );
    assert!(
        said.contains("2 benchmark(s) run, not recorded, 0 failed"),
        "{said}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "{said}");
    assert!(!report.exists(), "{said}");
    // A measured folder: a test-mode run, in a child process each, changes
    // no record, and a resumed run still finds both measured.
    let (code, said) = harness(&out, "1", &[], &[]);
    assert_eq!(code, 0, "{said}");
    let path = out.join("resnet18_cpu_inference/tch/size64-batch1/cnn-bench.json");
    let before = std::fs::read_to_string(&path).unwrap();
    let isolated = [("CNN_BENCH_ISOLATE", "all")];
    let (code, said) = harness(&out, "1", &isolated, &["--test"]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("2 benchmark(s) run, not recorded"), "{said}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "{said}");
    let (ids, _) = list(&out, "1", &["--resume"]);
    assert!(ids.is_empty(), "{ids:?}");
}

/// A record that cannot be read (a file not written whole, or edited) is
/// named with what to do: `report` refuses the folder (exit 2), a resumed
/// run says so and measures that benchmark again, replacing it.
#[test]
fn a_record_that_cannot_be_read_is_said_and_measured_again() {
    let out = scratch("limits-unreadable");
    let tract = [("CNN_BENCH_FRAMEWORKS", "tract")];
    let (code, said) = harness(&out, "1", &tract, &["--resume"]);
    assert_eq!(code, 0, "{said}");
    let path = out.join("resnet18_cpu_inference/tract/size64-batch1/cnn-bench.json");
    std::fs::write(&path, "{\"id\": \"resnet18/cpu/infer").unwrap();
    let report = Command::new(env!("CARGO_BIN_EXE_cnn-bench"))
        .args(["report", "--criterion"])
        .arg(&out)
        .arg("--out")
        .arg(out.with_extension("unreadable-report"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&report.stderr);
    assert_eq!(report.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("parsing {}", path.display())) && err.contains("remove it"),
        "{err}"
    );
    let (code, said) = harness(&out, "1", &tract, &["--resume"]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains(&format!("cnn-bench: warning: parsing {}", path.display()))
            && said.contains("1 benchmark(s) measured"),
        "{said}"
    );
    assert_eq!(record(&out, "tract", 1).map(|r| r.status), Some(Status::Ok));
}
