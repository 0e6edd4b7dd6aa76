//! `cnn-bench`: commands around the benchmarks (`cargo bench` runs them).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use cnn_bench::grid::Grid;
use cnn_bench::report::{self, Measured, Verdict};
use cnn_bench::runner::criterion_dir;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    version,
    about = "Helpers for the cnn-bench benchmark suite; `cargo bench` runs the benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the grid `cargo bench` would run (cnn-bench.toml, CNN_BENCH_PROFILE and CNN_BENCH_* applied).
    Grid,
    /// Print every model: parameters, GFLOPs at 224x224, smallest input, frameworks.
    Catalogue,
    /// Turn criterion's output into tables (report.md), a CSV (report.csv) and an index page.
    Report {
        /// criterion's output folder [default: target/criterion or $CRITERION_HOME];
        /// repeat it to merge several (slices or shards of one grid) into one report.
        #[arg(long)]
        criterion: Vec<PathBuf>,
        /// Which of criterion's estimates to read: `new` (the latest run) or a saved baseline.
        #[arg(long, default_value = "new")]
        baseline: String,
        /// Where to write the report.
        #[arg(long, default_value = "target/cnn-bench-report")]
        out: PathBuf,
    },
    /// Compare two runs; exits with 1 when a benchmark regressed beyond the threshold.
    ///
    /// A run is a criterion folder with a baseline (`target/criterion:main`; without
    /// `:name` the latest run, `new`) or a report folder holding report.csv.
    Compare {
        old: String,
        new: String,
        /// Relative change that counts as a regression (0.05 = 5%).
        #[arg(long, default_value_t = 0.05)]
        threshold: f64,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Catalogue => {
            print!("{}", cnn_bench::catalogue::table());
            Ok(0)
        }
        Command::Grid => Grid::from_env().map(|g| {
            print!("{}", g.describe());
            0
        }),
        Command::Report {
            criterion,
            baseline,
            out,
        } => {
            let roots = if criterion.is_empty() {
                vec![criterion_dir()]
            } else {
                criterion
            };
            write_report(&roots, &baseline, &out).map(|_| 0)
        }
        Command::Compare {
            old,
            new,
            threshold,
        } => compare(&old, &new, threshold),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("cnn-bench: error: {e:#}");
            std::process::exit(cnn_bench::USAGE_ERROR);
        }
    }
}

fn write_report(roots: &[PathBuf], baseline: &str, out: &Path) -> Result<()> {
    let (rows, warnings) = report::collect_many(roots, baseline)?;
    for w in &warnings {
        eprintln!("cnn-bench: warning: {w}");
    }
    for ((device, phase, title), machines) in report::SECTIONS
        .iter()
        .map(|s| (s, report::machines(report::timed(&rows, s.0, s.1))))
    {
        if machines.len() > 1 {
            eprintln!(
                "cnn-bench: warning: the table \"{title}\" ({device}/{phase}) mixes machines: {}",
                machines.join(" + ")
            );
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join("report.md"), report::markdown(&rows))?;
    report::write_csv(&rows, &out.join("report.csv"))?;
    let figures = cnn_bench::figures::write_all(&rows, out)?;
    let rows: Vec<report::Row> = rows
        .into_iter()
        .map(|mut r| {
            r.root = std::fs::canonicalize(&r.root).unwrap_or(r.root);
            r
        })
        .collect();
    std::fs::write(out.join("index.html"), report::index_html(&rows, &figures))?;
    let failed = rows.iter().filter(|r| r.mean().is_none()).count();
    let rough = rows.iter().filter(|r| r.estimate().is_some()).count();
    println!(
        "{} benchmarks ({rough} estimates, {failed} without a number) -> {}/{{report.md, report.csv, index.html}} and {} figure(s)",
        rows.len(),
        out.display(),
        figures.len()
    );
    Ok(())
}

/// A run named on the command line: `DIR[:BASELINE]` of criterion, or a report folder.
fn load(spec: &str) -> Result<Vec<Measured>> {
    let (path, baseline) = match spec.rsplit_once(':') {
        Some((p, b)) if !b.contains('/') => (Path::new(p), b),
        _ => (Path::new(spec), "new"),
    };
    let csv = path.join("report.csv");
    if csv.exists() {
        return report::measured_from_csv(&csv);
    }
    let rows = report::collect(path, baseline)?;
    Ok(rows.iter().map(Measured::from).collect())
}

fn compare(old: &str, new: &str, threshold: f64) -> Result<i32> {
    let old = load(old)?;
    let new = load(new)?;
    if let Some(w) = report::machine_warning(&old, &new) {
        eprintln!("cnn-bench: {w}");
    }
    let time = old.iter().chain(&new).all(|m| m.time);
    let changes = report::compare(&old, &new, threshold);
    print!("{}", report::comparison_text(&changes, time));
    let regressions = changes
        .iter()
        .filter(|c| c.verdict == Verdict::Regression)
        .count();
    println!(
        "{regressions} regression(s) beyond {:.0}%",
        threshold * 100.0
    );
    Ok(if regressions > 0 { 1 } else { 0 })
}
