//! `cnn-bench-run`: the same harness as `cargo bench` as a plain binary, for
//! scripts and tests (`cnn-bench-run --bench [filter] [--resume] ...`).

fn main() {
    cnn_bench::harness::main();
}
