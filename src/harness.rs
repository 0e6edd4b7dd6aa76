//! The bench binary's `main` (`cargo bench`, and the `cnn-bench-run`
//! binary, the same harness for scripts and tests): one criterion group per
//! model x device x phase of the grid (`{model}/{device}/{phase}`), one
//! benchmark per size x batch x framework (interleaved). See
//! docs/methodology.md for the step definitions, the grid's settings and
//! the run options.

use crate::filter::Filter;
use crate::grid::Grid;
use crate::measurement::{Metric, StepMetric};
use crate::options::{flags_as_vars, Options};
use crate::run::{Run, Summary};
use crate::run_info::RunInfo;
use crate::runner;
use crate::schedule::human;
use anyhow::Result;
use criterion::Criterion;
use std::os::unix::process::CommandExt;

/// The budget of a run whose steps are not timed: none (a finite figure,
/// as records keep it in JSON).
const UNTIMED_BUDGET: f64 = 1e9;

pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Help needs no grid, device or Python (the `pytorch` probe takes
    // seconds): ours first, then criterion's, which exits.
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{}", help());
        let _ = Criterion::default().configure_from_args();
        return;
    }
    // criterion refuses options it does not know: ours become variables,
    // and the harness starts again without them.
    match flags_as_vars(&args) {
        Ok(None) => {}
        Ok(Some((rest, vars))) => {
            let exe = std::env::current_exe().expect("the bench binary's path");
            let e = std::process::Command::new(exe).args(rest).envs(vars).exec();
            eprintln!("cnn-bench: error: restarting without the harness's flags: {e}");
            std::process::exit(1);
        }
        Err(e) => usage_error(e),
    }
    let (grid, filter, metric, options) = match setup(&args) {
        Ok(v) => v,
        Err(e) => usage_error(e),
    };
    // Before any thread or process starts: they inherit it.
    if let Err(e) = grid.malloc.apply() {
        usage_error(e);
    }
    let widened = crate::select::widened(&grid, &filter);
    if let Some(why) = crate::select::names_nothing(&widened, &filter) {
        usage_error(anyhow::anyhow!(why));
    }
    if widened.models != grid.models && !options.child {
        eprintln!(
            "cnn-bench: the filter matches no benchmark of the grid's models; running {} (sizes, batches and runs of the grid)",
            widened.models.join(", ")
        );
    }
    let widened_models = widened.models != grid.models;
    let grid = widened;
    // A child runs what its parent selected: the parent probed the device.
    let selection = if options.child {
        crate::select::planned(&grid, &filter)
    } else {
        crate::select::select(&grid, &filter)
    };
    // Sizes are checked for what the filter selects (a grid of Inception
    // asked only for CPU inference needs no train-sized input).
    if !widened_models && !selection.too_small.is_empty() {
        usage_error(anyhow::anyhow!(
            "the selected benchmarks include inputs their model cannot take: {}",
            selection.too_small.join("; ")
        ));
    }
    if let (false, Err(e)) = (options.child, crate::select::fits_memory(&selection)) {
        usage_error(e);
    }
    if !options.child {
        // A selection of which nothing can run here (GPU benchmarks in a
        // build or on a machine without one) is said as an error, not run
        // as nothing with exit 0: a script would go on to publish an empty
        // run.
        if selection.cases.is_empty() && !selection.unavailable.is_empty() {
            usage_error(anyhow::anyhow!(
                "none of the selected benchmarks can run here: {}",
                selection.unavailable.join("; ")
            ));
        }
        // What is left out and why, for a run and for `--list` alike (the
        // harness refused too small inputs for the grid's own models).
        for line in selection.unavailable.iter().chain(&selection.left_out) {
            eprintln!("cnn-bench: {line}");
        }
        for why in &selection.too_small {
            eprintln!("cnn-bench: skipped: {why}");
        }
    }
    // Where criterion keeps no estimate (its test or profile mode,
    // `--discard-baseline`), the steps still run, each benchmark's record
    // goes to the run's scratch folder (the summary reads it there, then
    // it is removed), and the results folder stays as it was: a record
    // with no estimate there would read as measured, and `--resume` would
    // skip it.
    let unrecorded = crate::filter::no_estimates(&args);
    // Untimed (test, profile mode), criterion runs every step itself: the
    // harness's estimate of a slow step, several steps timed, would only
    // cost time.
    let untimed = unrecorded.is_some_and(|m| !m.timed());
    let grid = if untimed {
        Grid {
            budget_seconds: UNTIMED_BUDGET,
            ..grid
        }
    } else {
        grid
    };
    let out = match unrecorded {
        None => runner::criterion_dir(),
        Some(_) => crate::options::scratch(&options.run_id).join("criterion"),
    };
    // The run's facts (RunInfo) are collected only when it measures.
    let mut run = Run {
        grid: &grid,
        selection: &selection,
        args: &args,
        out: &out,
        metric,
        info: RunInfo::default(),
        options: &options,
        untimed,
    };
    // `--list` (as criterion prints it): what a run would measure here, in
    // its order: of its shard where it has one, and, resuming, without
    // what it would skip (the records in `out` are read).
    if args.iter().any(|a| a == "--list") {
        if let Err(e) = runner::list(&run) {
            eprintln!("cnn-bench: error: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    // criterion's `--baseline NAME` stops at the first benchmark without
    // it (a panic): said before anything runs, and no record is touched.
    // What a resumed run skips is not compared, and needs none.
    if let (Some(name), None, false) = (
        crate::filter::compared_baseline(&args),
        unrecorded,
        options.child,
    ) {
        let (missing, measured) = runner::without_baseline(&run, name);
        if let Some(first) = missing.first() {
            usage_error(anyhow::anyhow!(
                "`--baseline {name}`: {} of the {measured} benchmark(s) this run would measure have no saved baseline `{name}` in {} (the first: {first}), and criterion would stop the run there; save one with `--save-baseline {name}`, or compare those that have it with `--baseline-lenient {name}`",
                missing.len(),
                out.display()
            ));
        }
    }
    runner::set_threads(&grid).expect("the grid's frameworks are valid");
    let mut c = Criterion::default()
        .with_measurement(StepMetric(metric))
        .output_directory(&out)
        .configure_from_args();
    // A results or report folder that cannot be made is said before the
    // run, not after hours of it (criterion's, at its first benchmark).
    if let (None, false) = (unrecorded, options.child) {
        let folders = [
            (
                report_dir(&options, &out),
                "the report's folder",
                "CNN_BENCH_REPORT; `none`: no report",
            ),
            (Some(out.clone()), "criterion's folder", "CRITERION_HOME"),
        ];
        for (dir, what, set_by) in folders {
            let Some(dir) = dir else { continue };
            if let Err(e) = can_make(&dir) {
                usage_error(anyhow::anyhow!(
                    "{what} {} ({set_by}) cannot be made: {e}",
                    dir.display()
                ));
            }
        }
    }
    // One measuring run at a time into a folder (crate::lock), held until
    // this process ends.
    let _lock = match (unrecorded, options.child) {
        (None, false) => match crate::lock::RunLock::take(&out, options.shard) {
            Ok(lock) => Some(lock),
            Err(e) => usage_error(e),
        },
        _ => None,
    };
    if let (Some(m), false) = (unrecorded, options.child) {
        eprintln!(
            "cnn-bench: {}; nothing is recorded in {} and no report is written (`cargo bench` measures)",
            m.why(),
            runner::criterion_dir().display()
        );
    }
    if !options.child {
        let budget = if untimed {
            String::new()
        } else {
            format!("{} s of measurement and ", grid.budget_seconds)
        };
        let results = match unrecorded {
            None => format!("; results in {}", out.display()),
            Some(_) => String::new(),
        };
        eprintln!(
            "cnn-bench: {} CPU threads per framework; criterion measures {:?}; at most {budget}{} in all per benchmark{results}",
            grid.threads,
            metric,
            grid.time_limits(),
        );
    }
    let start = std::time::Instant::now();
    run.info = RunInfo::inherited_or_collect(&grid, &selection.frameworks(&grid));
    let summary = match runner::run(&mut c, &run) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cnn-bench: error: {e:#}");
            std::process::exit(1);
        }
    };
    c.final_summary();
    if !options.child {
        // A run the watchdog restarted counts from its first process's
        // start, as its summary counts that process's benchmarks.
        let since_run = options
            .run_started()
            .filter(|_| options.continuing)
            .and_then(|t| t.elapsed().ok());
        let secs = since_run.unwrap_or_default().max(start.elapsed());
        eprintln!(
            "{}",
            describe(&summary, secs.as_secs_f64(), unrecorded.is_none())
        );
        if unrecorded.is_none() {
            write_report(&out, &args, &options, &grid, &selection.cases);
        }
    }
}

/// The report of criterion's folder after a run, beside it in
/// `cnn-bench-report/` (or in `$CNN_BENCH_REPORT`; `none`: no report),
/// opening with how much of the run's selection (`expected`) it holds.
fn write_report(
    out: &std::path::Path,
    args: &[String],
    options: &Options,
    grid: &Grid,
    expected: &[(crate::grid::Group, crate::grid::Case)],
) {
    let Some(dir) = report_dir(options, out) else {
        return;
    };
    if !out.exists() {
        eprintln!(
            "cnn-bench: no report written: nothing is recorded in {} yet",
            out.display()
        );
        return;
    }
    // The baseline named for this run's estimates, else the latest run's.
    let baseline = crate::filter::named_baseline(args).unwrap_or("new");
    match crate::publish::write(&[out.to_path_buf()], baseline, Some((grid, expected)), &dir) {
        Ok((_, summary)) => eprintln!(
            "cnn-bench: report: {summary}; open {}",
            dir.join("index.html").display()
        ),
        Err(e) => eprintln!("cnn-bench: no report written: {e:#}"),
    }
}

/// Whether folder `dir` can be made: it is made, and what did not exist
/// before is removed again (a run stopped before its report, by Ctrl-C,
/// leaves no empty report folder).
fn can_make(dir: &std::path::Path) -> std::io::Result<()> {
    let missing: Vec<&std::path::Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
    std::fs::create_dir_all(dir)?;
    // The deepest first; a folder something else wrote into meanwhile stays.
    for p in missing {
        let _ = std::fs::remove_dir(p);
    }
    Ok(())
}

/// Where the report of criterion's folder `out` goes: beside it in
/// `cnn-bench-report/`, or in `$CNN_BENCH_REPORT`; `None` for no report.
fn report_dir(options: &Options, out: &std::path::Path) -> Option<std::path::PathBuf> {
    match &options.report {
        None => None,
        Some(d) if d.as_os_str().is_empty() => Some(out.with_file_name("cnn-bench-report")),
        Some(d) => Some(d.clone()),
    }
}

/// What `cargo bench -- --help` says before criterion's own options.
fn help() -> String {
    let mut out = String::from(
        "cnn-bench's benchmarks: cargo bench -- [FILTER] [OPTIONS]\n\n\
         Each benchmark is {model}/{device}/{phase}/{framework}/size{S}-batch{B}\n\
         (resnet50/gpu/train/tch/size224-batch32); FILTER, a regular expression,\n\
         runs those it matches (resnet18/gpu/train). `cargo run --release -- grid`\n\
         prints the grid; --list what this command would measure here, in its\n\
         order (with --resume: what is left), with its predicted time (with\n\
         --max-time: how many fit); docs/running.md and docs/methodology.md\n\
         say more.\n\n\
         cnn-bench's options:\n",
    );
    for f in crate::options::FLAGS {
        let flag = format!("{} {}", f.name, f.value.unwrap_or_default());
        let var = match f.value {
            Some(_) => f.var.to_string(),
            None => format!("{}=1", f.var),
        };
        out += &format!("  {flag:<22} {} [{var}]\n", f.help);
    }
    out += "\nVariables (read as a run starts; the grid's override cnn-bench.toml):\n";
    let width = crate::config::ENV_VARS.iter().map(|v| v.0.len()).max();
    for (var, what) in crate::config::ENV_VARS {
        out += &format!("  {var:<w$} {what}\n", w = width.unwrap_or(0));
    }
    let refused: Vec<&str> = crate::filter::REFUSED.iter().map(|r| r.0).collect();
    out + &format!(
        "\ncriterion's options ({} are refused, each saying why and what to use instead):\n",
        refused.join(", ")
    )
}

fn setup(args: &[String]) -> Result<(Grid, Filter, Metric, Options)> {
    if let Some((flag, why)) = crate::filter::refused(args) {
        anyhow::bail!("`{flag}` is not supported: {why}");
    }
    if let Some(why) = crate::filter::out_of_range(args) {
        anyhow::bail!("{why}");
    }
    if let Some(why) = crate::filter::unusable_baseline(args) {
        anyhow::bail!("{why}");
    }
    let vars = crate::config::cnn_bench_vars();
    let options = Options::from_vars(&vars)?;
    Ok((
        Grid::from_vars(&vars)?,
        Filter::from_args(args.to_vec())?,
        options.metric,
        options,
    ))
}

fn usage_error(e: anyhow::Error) -> ! {
    eprintln!("cnn-bench: error: {e:#}");
    std::process::exit(crate::USAGE_ERROR);
}

/// The run's last words: what was measured (`recorded`: criterion kept
/// its estimates; otherwise the steps ran and nothing was recorded),
/// estimated, failed, skipped and what remains.
pub fn describe(s: &Summary, secs: f64, recorded: bool) -> String {
    let mut out = if recorded {
        format!(
            "cnn-bench: {} benchmark(s) measured, {} as estimates (fewer steps than criterion's minimum), {} failed, in {}",
            s.measured + s.estimated,
            s.estimated,
            s.failed.len(),
            human(secs)
        )
    } else {
        format!(
            "cnn-bench: {} benchmark(s) run, not recorded, {} failed, in {}",
            s.measured + s.estimated,
            s.failed.len(),
            human(secs)
        )
    };
    if s.skipped > 0 {
        out += &format!("; {} skipped (already recorded)", s.skipped);
    }
    if s.elsewhere > 0 {
        out += &format!("; {} left to other shards", s.elsewhere);
    }
    if let (true, [first, ..]) = (recorded, &s.beside_other_work[..]) {
        out += &format!(
            "\ncnn-bench: {} benchmark(s) measured beside other work (`{}` in the report; the first: {first}): measure them again on a quiet machine (`--retry-busy`)",
            s.beside_other_work.len(),
            crate::contention::MARK
        );
    }
    if s.remaining > 0 {
        out += &format!(
            "\ncnn-bench: {} benchmark(s) remain (deadline): run the same command again to go on",
            s.remaining
        );
    } else {
        out += "\ncnn-bench: 0 benchmark(s) remain";
    }
    for (id, reason) in &s.failed {
        out += &format!("\n  - {id}: {reason}");
    }
    out
}
