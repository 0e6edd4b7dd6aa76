//! The GPU session's scripts, end to end on the CPU: what a session lent a
//! GPU runs (`scripts/gpu-session.sh`, which runs `scripts/gpu-grid.sh`)
//! and what brings its archive back into the repository
//! (`scripts/gpu-session-publish.sh`, through `scripts/gpu-grid-publish.sh`),
//! on resnet18 at 64x64, CPU inference. GPU time is too scarce to find a
//! broken script there: a second call resumes from the state the first
//! kept on the machine, measuring only what it left, and both archives
//! publish into a grid report, a status and the repeats' table.

mod small_grid;

use small_grid::{scratch, small_grid, started_at};
use std::path::Path;
use std::process::Command;

/// Runs `script` from the repository root with the CPU grid's settings
/// and `vars`; returns what it printed, after checking it exited 0.
fn script(script: &str, args: &[&Path], vars: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join(script));
    small_grid(&mut cmd, "0.2")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("BIN", env!("CARGO_BIN_EXE_cnn-bench-run"))
        .env("CLI", env!("CARGO_BIN_EXE_cnn-bench"))
        .env("PASSES", "tch,tract")
        // Not this checkout's cubecl environment (burn's kernels) nor the
        // grid's committed one: none.
        .env(
            "CUBECL_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("slices-no-cubecl"),
        )
        .env("CUBECL_STATE", "/nonexistent/cubecl-environment.tar.gz")
        // Nor the GPU grid's committed state, where a STATE is missing.
        .env("COMMITTED_STATE", "/nonexistent/criterion.tar.gz");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{script}: {:?}\n{said}", o.status);
    said
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The slice log (`slice-<time>.log`) gpu-grid.sh left in `dir`.
fn slice_log(dir: &Path) -> String {
    let log = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .unwrap_or_else(|| panic!("no slice log in {}", dir.display()));
    read(&log)
}

#[test]
fn a_session_resumes_on_a_second_call_and_both_archives_publish() {
    let dir = scratch("slices-session");
    let keep = dir.join("keep.tar.gz");
    let (first, second) = (dir.join("first"), dir.join("second"));
    let none = Path::new("/none");
    // First call: two repeats of the interpreter's cells (tch against
    // tch-vision, candle against candle-transformers), then the grid at
    // batch 1, starting from no state.
    let said = script(
        "scripts/gpu-session.sh",
        &[],
        &[
            ("DEVICE", "cpu"),
            ("REPEATS", "2"),
            ("REPEAT_SIZES", "64"),
            ("REPEAT_BATCHES", "1"),
            ("CNN_BENCH_BATCHES", "1"),
            ("STATE", none.to_str().unwrap()),
            ("KEEP", keep.to_str().unwrap()),
            ("OUT", first.to_str().unwrap()),
        ],
    );
    assert!(said.contains("the grid's state kept in"), "{said}");
    // Second call, the grid grown to batch 2, no repeats (the default):
    // from the kept state, only batch 2 is measured, each benchmark in a
    // child process as on a GPU (its stages timed by the parent).
    let said = script(
        "scripts/gpu-session.sh",
        &[],
        &[
            ("CNN_BENCH_ISOLATE", "all"),
            ("CNN_BENCH_BATCHES", "1,2"),
            ("STATE", keep.to_str().unwrap()),
            ("KEEP", keep.to_str().unwrap()),
            ("OUT", second.to_str().unwrap()),
        ],
    );
    // The second call's slice log.
    let untar = |archive: &Path, x: &Path| {
        std::fs::create_dir_all(x).unwrap();
        let ok = Command::new("tar")
            .arg("xzf")
            .arg(archive)
            .arg("-C")
            .arg(x)
            .status()
            .unwrap();
        assert!(ok.success());
    };
    let x = dir.join("x");
    untar(&second.join("session.tgz"), &x);
    let log = slice_log(&x.join("grid"));
    assert!(
        log.contains(
            "resume: 2 of 4 benchmark(s) already recorded with these settings are skipped"
        ),
        "{said}\n{log}"
    );
    assert!(log.contains("2 benchmark(s) measured"), "{log}");
    // A call whose state is gone (a released machine's /tmp) starts from
    // the committed state (here the second's), said, not from nothing.
    let third = dir.join("third");
    let said = script(
        "scripts/gpu-grid.sh",
        &[],
        &[
            ("CNN_BENCH_BATCHES", "1,2"),
            ("STATE", dir.join("gone.tar.gz").to_str().unwrap()),
            (
                "COMMITTED_STATE",
                x.join("grid/criterion.tar.gz").to_str().unwrap(),
            ),
            ("OUT", third.to_str().unwrap()),
        ],
    );
    assert!(
        said.contains("warning: no state at ") && said.contains("the committed state "),
        "{said}"
    );
    let log = slice_log(&third);
    assert!(
        log.starts_with("gpu-grid: warning: no state at ")
            && log.contains("resume: 4 of 4 benchmark(s) already recorded"),
        "{said}\n{log}"
    );

    // Both archives, in order, into a grid folder and a repeats folder.
    let (grid, repeats) = (dir.join("grid"), dir.join("repeats"));
    let dests = [
        ("DEST", grid.to_str().unwrap()),
        ("REPEATS_DEST", repeats.to_str().unwrap()),
        ("CNN_BENCH_BATCHES", "1,2"),
        ("CNN_BENCH_FRAMEWORKS", "tch,tract"),
    ];
    script(
        "scripts/gpu-session-publish.sh",
        &[&first.join("session.tgz")],
        &dests,
    );
    let said = script(
        "scripts/gpu-session-publish.sh",
        &[&second.join("session.tgz")],
        &dests,
    );
    assert!(said.contains("no repeats in"), "{said}");
    let status = read(&grid.join("status.txt"));
    assert!(
        status.starts_with("GPU grid: 4 of 4 selected benchmarks recorded; 0 remain"),
        "{status}"
    );
    // On the CPU no cell has NVML's figure, which the GPU tables need.
    assert!(
        status.contains("\nmeasured benchmarks without NVML's GPU memory: 4 (resnet18/cpu/inference/tch/size64-batch1, "),
        "{status}"
    );
    // The machine time the grid took: one pass in each slice's log.
    assert!(
        status.contains("machine time of the grid's passes so far (each pass's duration in the 2 slice logs, logs/): ")
            && status.contains(" over 2 passes\n"),
        "{status}"
    );
    // Where each benchmark's time went, from the stages in its record.
    for f in ["tch", "tract"] {
        let said = format!("medians over the records), {f} inference: starting ");
        assert!(status.contains(&said), "{status}");
    }
    let report = read(&grid.join("report.md"));
    assert!(report.contains("| resnet18 | 64 | 2 |"), "{report}");
    // Published out of order, the first slice's archive (batch 1) is merged
    // into the state the second left (batches 1 and 2): nothing is lost.
    let y = dir.join("y");
    untar(&first.join("session.tgz"), &y);
    let merged = dir.join("grid-merged");
    for archive in [
        x.join("grid/criterion.tar.gz"),
        y.join("grid/criterion.tar.gz"),
    ] {
        script(
            "scripts/gpu-grid-publish.sh",
            &[&archive],
            &[("DEST", merged.to_str().unwrap()), dests[2], dests[3]],
        );
    }
    let status = read(&merged.join("status.txt"));
    assert!(
        status.starts_with("GPU grid: 4 of 4 selected benchmarks recorded; 0 remain"),
        "{status}"
    );
    assert_eq!(std::fs::read_dir(grid.join("logs")).unwrap().count(), 2);
    let table = read(&repeats.join("repeats.md"));
    // The grid's own report is a run too (run 1).
    for pair in [
        "tch / tch-vision, 3 runs",
        "candle / candle-transformers, 3 runs",
    ] {
        assert!(table.contains(pair), "{table}");
    }
    assert_eq!(
        table
            .matches("| resnet18 | cpu | inference | 64 | 1 |")
            .count(),
        2,
        "{table}"
    );
    // Run 1 is a copy of the grid's rows of the repeated cells only (tch's,
    // not tract's), so later slices do not change it.
    let kept = repeats.join("grid/report.csv");
    assert!(
        table.contains(&format!("- run 1: {}", kept.display())),
        "{table}"
    );
    let rows = read(&kept);
    assert!(rows.lines().skip(1).any(|l| l.contains(",tch,")), "{rows}");
    assert!(!rows.contains(",tract,"), "{rows}");
    // How far each framework's own mean moved between the runs.
    assert!(
        table.contains("| tch between runs | tch-vision between runs |"),
        "{table}"
    );
}

/// burn's pass runs under a limit of its own (its first step compiles its
/// kernels for minutes on a GPU), and its compiled kernels and autotune
/// results (cubecl's environment, a folder under `target/`) travel with the
/// grid's state: a slice packs the
/// folder, publishing keeps it beside `criterion.tar.gz` (unless it is too
/// large to carry), and the next slice, on a bare machine, brings it back
/// without overwriting what that machine already has.
#[test]
fn burns_benchmarks_have_a_limit_of_their_own_and_its_kernels_travel_with_the_grid_state() {
    let dir = scratch("slices-cubecl");
    let (first_env, next_env) = (dir.join("env-first"), dir.join("env-next"));
    std::fs::create_dir_all(&first_env).unwrap();
    std::fs::create_dir_all(&next_env).unwrap();
    // What a burn pass leaves on a GPU (burn's CPU backend here leaves
    // nothing).
    std::fs::write(first_env.join("NVIDIA_H100.db"), "H100's").unwrap();
    std::fs::write(first_env.join("NVIDIA_H200.db"), "H200's").unwrap();
    std::fs::write(next_env.join("NVIDIA_H200.db"), "this machine's").unwrap();
    // No cubecl environment to bring in at first.
    let none = dir.join("no-environment.tar.gz");
    let slice = |env: &Path, out: &Path, from: &Path| {
        script(
            "scripts/gpu-grid.sh",
            &[],
            &[
                ("PASSES", "tract burn"),
                ("BURN_TIME_LIMIT", "77"),
                ("CNN_BENCH_BATCHES", "1"),
                ("STATE", "/none"),
                ("CUBECL_DIR", env.to_str().unwrap()),
                ("CUBECL_STATE", from.to_str().unwrap()),
                ("OUT", out.to_str().unwrap()),
            ],
        )
    };
    let first = dir.join("first");
    let said = slice(&first_env, &first, &none);
    assert!(
        said.contains("burn's kernels and autotune results packed into"),
        "{said}"
    );
    // burn's benchmarks, run here on the CPU (Flex), have a limit of their
    // own, in every pass (tests/limits.rs: a framework's limit decides).
    let log = slice_log(&first);
    for pass in ["tract", "burn"] {
        let said = format!("gpu-grid: pass {pass}, ");
        let at = log.find(&said).unwrap_or_else(|| panic!("{log}"));
        let limit = "at most 10 s of measurement and 120 s (burn: 77 s) in all";
        assert!(log[at..].contains(limit), "{pass}: {log}");
    }

    // Published beside the state; over the size limit, not kept.
    let publish = |dest: &Path, max: &str| {
        script(
            "scripts/gpu-grid-publish.sh",
            &[&first.join("criterion.tar.gz")],
            &[
                ("DEST", dest.to_str().unwrap()),
                ("CNN_BENCH_BATCHES", "1"),
                ("CNN_BENCH_FRAMEWORKS", "tract"),
                ("CUBECL_STATE_MAX_BYTES", max),
            ],
        )
    };
    let (grid, small) = (dir.join("grid"), dir.join("grid-small"));
    let said = publish(&small, "10");
    assert!(
        said.contains("over CUBECL_STATE_MAX_BYTES (10): not kept"),
        "{said}"
    );
    assert!(!small.join("cubecl-environment.tar.gz").exists());
    publish(&grid, "6291456");
    let kept = grid.join("cubecl-environment.tar.gz");
    assert!(kept.exists());

    // The next slice: what it brings in joins this machine's own, which
    // (newer) it does not overwrite.
    let said = slice(&next_env, &dir.join("next"), &kept);
    assert!(said.contains("brought into"), "{said}");
    assert_eq!(read(&next_env.join("NVIDIA_H100.db")), "H100's");
    assert_eq!(read(&next_env.join("NVIDIA_H200.db")), "this machine's");
}

/// gpu-grid-publish.sh judges what is left by the same settings the slice
/// ran with (scripts/gpu-grid-settings.sh, sourced by both): a burn cell
/// stopped by a 2 s limit is left to measure again under burn's longer
/// limit (`BURN_TIME_LIMIT`), and final under the same 2 s.
#[test]
fn publishing_judges_the_state_by_the_slices_time_limits() {
    let dir = scratch("slices-limits");
    let slice = dir.join("slice");
    script(
        "scripts/gpu-grid.sh",
        &[],
        &[
            ("PASSES", "burn"),
            ("BURN_TIME_LIMIT", "2"),
            ("CNN_BENCH_BATCHES", "1"),
            ("CNN_BENCH_ISOLATE", "all"),
            ("CNN_BENCH_HANG", "preparing@/burn/"),
            ("STATE", "/none"),
            ("OUT", slice.to_str().unwrap()),
        ],
    );
    let publish = |limit: &str| {
        let dest = dir.join(format!("grid-{limit}"));
        script(
            "scripts/gpu-grid-publish.sh",
            &[&slice.join("criterion.tar.gz")],
            &[
                ("DEST", dest.to_str().unwrap()),
                ("CNN_BENCH_BATCHES", "1"),
                ("CNN_BENCH_FRAMEWORKS", "burn"),
                ("BURN_TIME_LIMIT", limit),
            ],
        );
        read(&dest.join("status.txt"))
    };
    let again = "1 of them failed by a shorter time limit than their framework's now";
    let status = publish("30");
    assert!(
        status.starts_with("GPU grid: 1 of 1 selected benchmarks recorded (")
            && status.contains(again)
            && status.contains("0 never recorded, 0 with older step code, 1 failed by a shorter time limit than their framework's now"),
        "{status}"
    );
    let status = publish("2");
    assert!(
        status.starts_with("GPU grid: 1 of 1 selected benchmarks recorded; 0 remain"),
        "{status}"
    );
}

/// A pass marked `:new` measures only never-recorded cells, so the passes
/// after it refresh older records only once every marked pass has filled
/// its frameworks' empty cells (here the batch-1 records are stale: made
/// with another step delay, one of a record's settings).
#[test]
fn marked_passes_fill_every_empty_cell_before_any_is_refreshed() {
    let dir = scratch("slices-new-first");
    let (first, second) = (dir.join("first"), dir.join("second"));
    script(
        "scripts/gpu-grid.sh",
        &[],
        &[
            ("CNN_BENCH_BATCHES", "1"),
            ("STATE", "/none"),
            ("OUT", first.to_str().unwrap()),
        ],
    );
    let said = script(
        "scripts/gpu-grid.sh",
        &[],
        &[
            ("CNN_BENCH_BATCHES", "1,2"),
            ("CNN_BENCH_STEP_DELAY_MS", "1"),
            ("PASSES", "tch:new tract:new tch tract"),
            ("STATE", first.join("criterion.tar.gz").to_str().unwrap()),
            ("OUT", second.to_str().unwrap()),
        ],
    );
    let log = slice_log(&second);
    let at = |id: &str| started_at(&log, id);
    let order = [
        "tch/size64-batch2",
        "tract/size64-batch2",
        "tch/size64-batch1",
        "tract/size64-batch1",
    ]
    .map(at);
    assert!(order.is_sorted(), "{order:?}\n{log}");
    assert!(
        log.contains("gpu-grid: pass tch (never-recorded cells only), ")
            && log.contains("new only: 1 of 2 benchmark(s) recorded otherwise"),
        "{log}"
    );
    assert!(said.contains("4 benchmark(s) recorded in all"), "{said}");
}

/// A bench binary that cannot start on the machine (CUDA's driver missing)
/// or that predates a variable the script sets is refused at once, exit
/// status 2, with the reason: not a slice whose every pass fails.
#[test]
fn a_binary_that_cannot_run_the_slice_is_refused_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("slices-refused");
    let refused = |name: &str, body: &str| {
        let bin = dir.join(name);
        std::fs::write(&bin, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let o = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gpu-grid.sh"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("BIN", &bin)
            .env("STATE", "/none")
            .env("OUT", dir.join(format!("out-{name}")))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(2), "{said}");
        said
    };
    let said = refused(
        "no-driver",
        "echo \"$0: error while loading shared libraries: libcuda.so.1: cannot open shared object file\" >&2; exit 127",
    );
    assert!(
        said.contains("does not start: ") && said.contains("libcuda.so.1"),
        "{said}"
    );
    let said = refused("old", "echo 'CNN_BENCH_TIME_LIMIT  the limit'; exit 0");
    assert!(
        said.contains("predates CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK"),
        "{said}"
    );
    let said = refused(
        "older",
        "echo 'CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK  the limits'; exit 0",
    );
    assert!(said.contains("predates CNN_BENCH_NEW_ONLY"), "{said}");
}

/// A slice that recorded nothing, published onto a grid with nothing
/// recorded, publishes nothing: exit status 2 with the reason, no report
/// (`report --grid` writes none for a grid not started).
#[test]
fn an_archive_with_nothing_recorded_publishes_nothing() {
    let dir = scratch("slices-nothing");
    let (empty, dest) = (dir.join("slice"), dir.join("grid"));
    std::fs::create_dir_all(empty.join("criterion")).unwrap();
    let archive = dir.join("criterion.tar.gz");
    let packed = Command::new("tar")
        .arg("czf")
        .arg(&archive)
        .arg("-C")
        .arg(&empty)
        .arg("criterion")
        .status()
        .unwrap();
    assert!(packed.success());
    let o = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gpu-grid-publish.sh"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg(&archive)
        .env("CLI", env!("CARGO_BIN_EXE_cnn-bench"))
        .env("DEST", &dest)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{said}");
    assert!(said.contains("nothing published"), "{said}");
    // Nothing is written where the grid's state would be, not even the
    // empty archive as a first state.
    assert!(!dest.exists(), "{} was made", dest.display());
}
