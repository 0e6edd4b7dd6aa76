//! `cargo bench`: the harness (`cnn_bench::harness`), run by cargo.

fn main() {
    cnn_bench::harness::main();
}
