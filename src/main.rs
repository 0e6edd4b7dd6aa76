//! `cnn-bench`: commands around the benchmarks (`cargo bench` runs them).

use anyhow::Result;
use clap::{Parser, Subcommand};
use cnn_bench::filter::Filter;
use cnn_bench::grid::{Case, Grid, Group};
use cnn_bench::identities::Framework;
use cnn_bench::options::{Options, Shard};
use cnn_bench::report::{self, Measured};
use cnn_bench::runner::criterion_dir;
use cnn_bench::select::planned;
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
        /// Instead of criterion's folders: published report.csv files (make a
        /// reference run's tables, figures and page again); repeat it to
        /// merge several, as folders merge.
        #[arg(long, conflicts_with = "criterion")]
        csv: Vec<PathBuf>,
        /// Which of criterion's estimates to read: `new` (the latest run) or a saved baseline.
        #[arg(long, default_value = "new", conflicts_with = "csv")]
        baseline: String,
        /// Where to write the report.
        #[arg(long, default_value = "target/cnn-bench-report")]
        out: PathBuf,
        /// Open the report with its coverage of the grid (the one `cnn-bench
        /// grid` prints, on a machine with every device): how many of its
        /// benchmarks are recorded, and which remain; then print what a
        /// resumed run has left and about how long it takes.
        #[arg(long)]
        grid: bool,
    },
    /// Compare two runs; exits with 1 when a benchmark regressed beyond the threshold.
    ///
    /// A run is a criterion folder with a baseline (`target/criterion:main`; without
    /// `:name` the latest run, `new`), a report folder holding report.csv, or that file.
    Compare {
        /// The earlier run (the reference), e.g. `target-reports/<folder>`.
        old: String,
        /// The later run, e.g. `target/criterion` or `target/cnn-bench-report`.
        new: String,
        /// Relative change that counts as a regression (0.05 = 5%).
        #[arg(long, default_value_t = 0.05, value_parser = fraction)]
        threshold: f64,
        /// Compare each benchmark's time over this framework's in the same
        /// configuration of its own run (e.g. tch): a shift of a whole run
        /// (a machine's speed between runs) cancels; the framework's own
        /// benchmarks are left out.
        #[arg(long, value_name = "FRAMEWORK")]
        relative_to: Option<String>,
        /// The table in Markdown (for a pull request's comment), then the
        /// same closing lines.
        #[arg(long)]
        markdown: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Catalogue => {
            print!("{}", cnn_bench::catalogue::table());
            Ok(0)
        }
        Command::Grid => Grid::from_env().and_then(|g| {
            g.check_sizes()?;
            // Read before anything is printed: a bad variable prints no grid.
            let options = Options::from_env()?;
            let selection = planned(&g, &Filter::All);
            cnn_bench::select::fits_memory(&selection)?;
            let cases = selection.cases;
            print!("{}", g.describe());
            println!("{} groups, {} benchmarks", g.groups().len(), cases.len());
            // A cluster job's shard (CNN_BENCH_SHARD): its part of the grid
            // (a run shards what can run where it runs).
            if let Some(s) = options.shard {
                println!(
                    "shard {}/{} (CNN_BENCH_SHARD): {} of them where all can run (benchmarks {}, {}, {}, ...; `cargo bench -- --list` lists this machine's)",
                    s.index,
                    s.count,
                    Shard::of(Some(s), &cases).len(),
                    s.index,
                    s.index + s.count,
                    s.index + 2 * s.count
                );
            }
            Ok(0)
        }),
        Command::Report {
            criterion,
            csv,
            baseline,
            out,
            grid,
        } => {
            let roots = if criterion.is_empty() {
                vec![criterion_dir()]
            } else {
                criterion
            };
            let grid = match grid {
                true => Grid::from_env().map(|g| {
                    let cases = planned(&g, &Filter::All).cases;
                    Some((g, cases))
                }),
                false => Ok(None),
            };
            grid.and_then(|grid| {
                // What a resumed run of the grid has left (one criterion folder).
                let left = match (&grid, roots.as_slice(), csv.is_empty()) {
                    (Some((g, cases)), [root], true) => Some((g, cases, root)),
                    _ => None,
                };
                // A grid not started yet: nothing to report, but what is left.
                match left.filter(|(_, _, r)| report::holds_no_records(r)) {
                    Some((g, cases, root)) => {
                        eprintln!(
                            "cnn-bench: no benchmark recorded under {} yet: no report written",
                            root.display()
                        );
                        println!("{}", report::Coverage::of(g, cases, &[]).line());
                    }
                    None => {
                        let expected = grid.as_ref().map(|(g, cases)| (g, cases.as_slice()));
                        write_report(&roots, &csv, &baseline, expected, &out)?;
                    }
                }
                if let Some((g, cases, root)) = left {
                    println!("{}", cnn_bench::left::Left::of(g, cases, root)?.lines());
                }
                Ok(0)
            })
        }
        Command::Compare {
            old,
            new,
            threshold,
            relative_to,
            markdown,
        } => compare(&old, &new, threshold, relative_to.as_deref(), markdown),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("cnn-bench: error: {e:#}");
            std::process::exit(cnn_bench::USAGE_ERROR);
        }
    }
}

fn write_report(
    roots: &[PathBuf],
    csv: &[PathBuf],
    baseline: &str,
    expected: Option<(&Grid, &[(Group, Case)])>,
    out: &Path,
) -> Result<()> {
    let (said, summary) = if csv.is_empty() {
        cnn_bench::publish::write(roots, baseline, expected, out)?
    } else {
        let runs = csv.iter().map(|f| report::rows_from_csv(f));
        let (rows, warnings) = report::merge(runs.collect::<Result<_>>()?);
        cnn_bench::publish::write_rows(rows, warnings, expected, out)?
    };
    for w in said {
        eprintln!("cnn-bench: warning: {w}");
    }
    println!("{summary}");
    Ok(())
}

/// A `--threshold`: a relative change, 0 or more.
fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v >= 0.0 => Ok(v),
        Ok(_) => Err("a relative change, 0 or more (0.05 = 5%), is wanted".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A run named on the command line: `DIR[:BASELINE]` of criterion, a report
/// folder, or its report.csv.
fn load(spec: &str) -> Result<Vec<Measured>> {
    let (path, baseline) = match spec.rsplit_once(':') {
        Some((p, b)) if !b.contains('/') => (Path::new(p), b),
        _ => (Path::new(spec), "new"),
    };
    anyhow::ensure!(
        path.exists(),
        "{}: no such file or folder (a run is a criterion folder, DIR or DIR:BASELINE; a report folder holding report.csv; or that file)",
        path.display()
    );
    if path.is_file() {
        return report::measured_from_csv(path);
    }
    let csv = path.join("report.csv");
    if csv.exists() {
        return report::measured_from_csv(&csv);
    }
    let rows = report::collect(path, baseline)?;
    Ok(rows.iter().map(Measured::from).collect())
}

fn compare(
    old: &str,
    new: &str,
    threshold: f64,
    relative_to: Option<&str>,
    markdown: bool,
) -> Result<i32> {
    let reference = relative_to
        .map(Framework::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let (mut old, mut new) = (load(old)?, load(new)?);
    for w in [
        report::machine_warning(&old, &new),
        report::settings_warning(&old, &new),
        report::beside_warning(&old, &new),
    ]
    .into_iter()
    .flatten()
    {
        eprintln!("cnn-bench: {w}");
        // A pull request's comment keeps them too, above its table.
        if markdown {
            let w = w.strip_prefix("warning: ").unwrap_or(&w);
            println!("> **Warning:** {w}\n");
        }
    }
    if let Some(f) = reference {
        for (rows, which) in [(&old, "old"), (&new, "new")] {
            anyhow::ensure!(
                rows.iter().any(|m| m.case.framework == f && m.mean.is_some()),
                "--relative-to {f}: the {which} run has no measured {f} benchmark to compare against"
            );
        }
        let ((o, a), (n, b)) = (report::relative_to(&old, f), report::relative_to(&new, f));
        eprintln!(
            "cnn-bench: relative to {f}: each benchmark's mean over {f}'s in the same configuration of its own run (its interval from both means' intervals); left out: {f}'s own, and {} measured without a measured {f} beside them",
            a + b
        );
        (old, new) = (o, n);
    }
    let changes = report::compare(&old, &new, threshold);
    print!("{}", report::comparison_text(&changes, reference, markdown));
    if let Some(shift) = report::shift_text(&changes, reference) {
        // A blank line: its own paragraph in Markdown.
        println!("{shift}{}", if markdown { "\n" } else { "" });
    }
    let summary = report::ComparisonSummary::of(&changes);
    println!("{}", summary.said(threshold));
    // A gate that compared nothing (two runs of other benchmarks, a wrong
    // folder) must not pass as "0 regressions".
    anyhow::ensure!(
        summary.compared > 0,
        "no benchmark was measured in both runs ({} in the old, {} in the new): nothing was compared",
        old.iter().filter(|m| m.mean.is_some()).count(),
        new.iter().filter(|m| m.mean.is_some()).count()
    );
    Ok(if summary.regressions > 0 { 1 } else { 0 })
}
