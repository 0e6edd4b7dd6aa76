//! What the harness's own tests share: a scratch folder per test, and the
//! small grid they run (resnet18 at 64x64, CPU inference, one thread).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// A fresh folder under target/ for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `cmd` on the small grid: resnet18 at 64x64, CPU inference, one thread,
/// `target_seconds` of criterion per benchmark.
pub fn small_grid<'a>(cmd: &'a mut Command, target_seconds: &str) -> &'a mut Command {
    cmd.env("CNN_BENCH_RUNS", "cpu/inference")
        .env("CNN_BENCH_MODELS", "resnet18")
        .env("CNN_BENCH_SIZES", "64")
        .env("CNN_BENCH_THREADS", "1")
        .env("CNN_BENCH_TARGET_SECONDS", target_seconds)
}

/// Where the small grid's benchmark `id` (`tch/size64-batch1`) started in
/// a run's output `said`: its progress line, for checking the order.
pub fn started_at(said: &str, id: &str) -> usize {
    said.find(&format!("] resnet18/cpu/inference/{id}: about"))
        .unwrap_or_else(|| panic!("{id} was not run\n{said}"))
}
