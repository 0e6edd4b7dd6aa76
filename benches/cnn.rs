//! `cargo bench`: one criterion group per model x device x phase of the grid
//! (`{model}/{device}/{phase}`), one benchmark per framework x size x batch.
//! See the README for the step definitions and the grid's settings.

use cnn_bench::filter::Filter;
use cnn_bench::grid::Grid;
use cnn_bench::measurement::{Metric, StepMetric};
use cnn_bench::run_info::RunInfo;
use cnn_bench::runner::{self, Run};
use criterion::Criterion;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let setup = Grid::from_env().and_then(|g| {
        let filter = Filter::from_args(args.clone())?;
        Ok((
            g,
            filter,
            Metric::from_env()?,
            runner::step_delay_from_env()?,
        ))
    });
    let (grid, filter, metric, step_delay) = match setup {
        Ok(v) => v,
        Err(e) => {
            eprintln!("cnn-bench: error: {e:#}");
            std::process::exit(cnn_bench::USAGE_ERROR);
        }
    };
    let widened = grid.widened_for(&filter);
    if widened.models != grid.models {
        eprintln!(
            "cnn-bench: the filter matches no benchmark of the grid's models; running {} (sizes, batches and runs of the grid)",
            widened.models.join(", ")
        );
    }
    let grid = widened;
    // `--list` (as criterion prints it), without preparing any model.
    if args.iter().any(|a| a == "--list") {
        for id in grid.ids().iter().filter(|id| filter.matches(id)) {
            println!("{id}: benchmark");
        }
        return;
    }
    runner::set_threads(&grid).expect("the grid's frameworks are valid");
    let out = runner::criterion_dir();
    let mut c = Criterion::default()
        .with_measurement(StepMetric(metric))
        .output_directory(&out)
        .configure_from_args();
    // A child process runs one benchmark for its parent, which speaks for both.
    let child = std::env::var_os(runner::CHILD_VAR).is_some();
    if !child {
        eprintln!(
            "cnn-bench: {} CPU threads per framework; criterion measures {:?}; results in {}",
            grid.threads,
            metric,
            out.display()
        );
    }
    let run = Run {
        grid: &grid,
        filter: &filter,
        args: &args,
        out: &out,
        metric,
        info: RunInfo::collect(&grid),
        step_delay,
    };
    let summary = runner::run(&mut c, &run).expect("benchmark run");
    c.final_summary();
    if child {
        return;
    }
    eprintln!(
        "cnn-bench: {} benchmark(s) measured, {} failed",
        summary.measured,
        summary.failed.len()
    );
    for (id, reason) in &summary.failed {
        eprintln!("  - {id}: {reason}");
    }
}
