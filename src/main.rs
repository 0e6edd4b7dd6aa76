//! `cnn-bench`: commands around the benchmarks (`cargo bench` runs them).

use clap::{Parser, Subcommand};
use cnn_bench::grid::Grid;

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
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Catalogue => print!("{}", cnn_bench::catalogue::table()),
        Command::Grid => match Grid::from_env() {
            Ok(g) => print!("{}", g.describe()),
            Err(e) => {
                eprintln!("cnn-bench: error: {e:#}");
                std::process::exit(cnn_bench::USAGE_ERROR);
            }
        },
    }
}
