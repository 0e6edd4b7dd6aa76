//! Link settings for the package's binaries (bench, tests, CLI):
//! - libtorch's library directory (reported by torch-sys) goes into the
//!   rpath, so `cargo bench` runs without LD_LIBRARY_PATH;
//! - with the `cuda` feature, `libtorch_cuda.so` is kept in the link. The
//!   linker's `--as-needed` drops it otherwise (nothing references it
//!   directly), and libtorch then sees no GPU (tch-rs issues #907, #980).
//!
//! It compiles csrc/fused_adam.cpp (tch's fused Adam) against libtorch.
//!
//! It also sets `STEP_CODE_HASH`, a hash of the step code: the files that
//! decide what a benchmark computes and how it is timed. A resumed run
//! (`--resume`) reuses a result only when this hash is the one it was
//! measured with, so a change to a model, an adapter or the timing restarts
//! the grid while documentation, reports and scheduling changes do not.

use std::path::{Path, PathBuf};

/// What a step computes (models, adapters, inputs, library versions) and
/// how it is timed (criterion's plan, the measurement, the estimate).
const STEP_CODE: &[&str] = &[
    "models/src",
    "src/frameworks",
    "src/inputs.rs",
    "src/plan.rs",
    "src/measure.rs",
    "src/measurement.rs",
    "csrc",
    "Cargo.lock",
];

fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
    println!("cargo:rustc-env=STEP_CODE_HASH={:016x}", step_code_hash());
    fused_adam();
}

/// tch's fused Adam (csrc/fused_adam.cpp), compiled against the libtorch
/// that torch-sys builds with (`LIBTORCH`, set by .cargo/config.toml) and
/// its C++ ABI (the PyTorch wheels' since 2.6).
fn fused_adam() {
    println!("cargo:rerun-if-changed=csrc/fused_adam.cpp");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    let libtorch = std::env::var("LIBTORCH")
        .expect("LIBTORCH names libtorch (.cargo/config.toml: `make setup` links it)");
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".into());
    cc::Build::new()
        .cpp(true)
        .file("csrc/fused_adam.cpp")
        .include(Path::new(&libtorch).join("include"))
        .flag("-std=c++17")
        .define("_GLIBCXX_USE_CXX11_ABI", abi.as_str())
        .warnings(false)
        .compile("cnnb_fused_adam");
}

/// FNV-1a over every step-code file's path and bytes, in path order (a
/// fixed function, so every machine and toolchain agrees).
fn step_code_hash() -> u64 {
    let mut files = Vec::new();
    for p in STEP_CODE {
        println!("cargo:rerun-if-changed={p}");
        collect(Path::new(p), &mut files);
    }
    files.sort();
    let mut h: u64 = 0xcbf29ce484222325;
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        for b in f.to_string_lossy().bytes().chain([0]).chain(bytes) {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
    }
    h
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            collect(&e.path(), out);
        }
    } else if p.is_file() {
        out.push(p.to_path_buf());
    } else {
        println!(
            "cargo:warning=build.rs: step-code path {} is missing",
            p.display()
        );
    }
}
