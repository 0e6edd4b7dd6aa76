//! `cargo bench`: one criterion group per model x device x phase of the grid
//! (`{model}/{device}/{phase}`), one benchmark per framework x size x batch.
//! See the README for the step definitions and the grid's settings.

use cnn_bench::filter::Filter;
use cnn_bench::grid::Grid;
use cnn_bench::runner;
use criterion::Criterion;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (grid, filter) = match Grid::from_env().and_then(|g| Ok((g, Filter::from_args(args)?))) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("cnn-bench: error: {e:#}");
            std::process::exit(cnn_bench::USAGE_ERROR);
        }
    };
    runner::set_threads(&grid).expect("the grid's frameworks are valid");
    let out = runner::criterion_dir();
    let mut c = Criterion::default()
        .output_directory(&out)
        .configure_from_args();
    eprintln!(
        "cnn-bench: {} CPU threads per framework; results in {}",
        grid.threads,
        out.display()
    );
    let summary = runner::run(&mut c, &grid, &filter, &out).expect("benchmark run");
    c.final_summary();
    eprintln!(
        "cnn-bench: {} benchmark(s) measured, {} failed",
        summary.measured,
        summary.failed.len()
    );
    for (id, reason) in &summary.failed {
        eprintln!("  - {id}: {reason}");
    }
}
