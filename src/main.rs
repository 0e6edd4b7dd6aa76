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
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Grid => match Grid::from_env() {
            Ok(g) => print!("{}", g.describe()),
            Err(e) => {
                eprintln!("cnn-bench: error: {e:#}");
                std::process::exit(cnn_bench::USAGE_ERROR);
            }
        },
    }
}
