//! Link settings for the package's binaries (bench, tests, CLI):
//! - libtorch's library directory (reported by torch-sys) goes into the
//!   rpath, so `cargo bench` runs without LD_LIBRARY_PATH;
//! - with the `cuda` feature, `libtorch_cuda.so` is kept in the link. The
//!   linker's `--as-needed` drops it otherwise (nothing references it
//!   directly), and libtorch then sees no GPU (tch-rs issues #907, #980).
//!
//! It compiles csrc/ (tch's fused Adam, TorchScript's freezing pass)
//! against libtorch.
//!
//! It also sets `STEP_CODE_HASH_<FRAMEWORK>`, one hash per framework of its
//! step code: the files that decide what its benchmark computes and how it
//! is timed (the shared ones and its own), and the crates that run its steps
//! at the versions Cargo.lock pins, with everything they depend on. A
//! resumed run (`--resume`) reuses a result only when its framework's hash
//! is the one it was measured with, so a change to a model, an adapter, a
//! library or the timing re-measures what it touches, while documentation,
//! reports, scheduling and the other frameworks' code and crates do not.

use std::path::{Path, PathBuf};

/// Every framework's step code: what the steps compute (models, inputs)
/// and how they are timed (criterion's plan, the measurement, the
/// estimate, and glibc's malloc settings, which changed a CPU step's time
/// up to 2x while keeping the setting's name), and the manifests: the
/// crates' features, which choose kernels (gemm's AVX-512) and Cargo.lock
/// does not pin. A file a framework lists below is its own, not shared.
const SHARED: &[&str] = &[
    "Cargo.toml",
    "models/Cargo.toml",
    "models/src",
    "src/frameworks/mod.rs",
    "src/inputs.rs",
    "src/plan.rs",
    "src/measure.rs",
    "src/measurement.rs",
    "src/malloc.rs",
];

/// Each framework's own step code: (its name, its files, the crates that
/// run its steps). tch-jit, tch-vision and candle-transformers run through
/// the tch and candle adapters, so those are theirs too.
const FRAMEWORKS: &[(&str, Files, &[&str])] = &[
    ("tch", &[TCH], &["tch"]),
    ("tch-jit", &[TCH], &["tch"]),
    (
        "tch-vision",
        &[TCH, &["src/frameworks/tch_vision.rs"]],
        &["tch"],
    ),
    ("candle", &[CANDLE], &["candle-core", "candle-nn"]),
    (
        "candle-transformers",
        &[CANDLE, &["src/frameworks/candle_transformers.rs"]],
        &["candle-core", "candle-nn", "candle-transformers"],
    ),
    (
        "pytorch",
        &[&[
            "src/frameworks/pytorch.rs",
            "src/frameworks/pytorch_worker.rs",
            "src/frameworks/pytorch_worker.py",
        ]],
        &["safetensors"],
    ),
    (
        "ort",
        &[&["src/frameworks/ort.rs", "models/src/onnx"]],
        &["ort"],
    ),
    (
        "tract",
        &[&["src/frameworks/tract.rs", "models/src/onnx"]],
        &["tract-onnx", "tract-linalg"],
    ),
    (
        "tensorflow",
        &[&["src/frameworks/tensorflow.rs", "models/src/tensorflow"]],
        &["tensorflow"],
    ),
    (
        "burn",
        &[&["src/frameworks/burn.rs", "models/src/burn.rs"]],
        &["burn"],
    ),
];
/// Lists of paths, concatenated: a framework's own and those of the
/// adapter it runs through.
type Files = &'static [&'static [&'static str]];
const TCH: &[&str] = &[
    "src/frameworks/tch.rs",
    "src/frameworks/fused_adam.rs",
    "src/frameworks/torchscript_inference.rs",
    "src/frameworks/libtorch_shims.rs",
    "csrc",
    "models/src/tch.rs",
];
const CANDLE: &[&str] = &["src/frameworks/candle.rs", "models/src/candle.rs"];

/// The package's sources that are not step code, each a decision: what
/// runs in which order and where (outside every timed region; the settings
/// it passes on, threads and malloc, are compared on resume), the readings
/// and records beside a timing, and the commands and reports. A new source
/// file must be put here or in the step code above, or the build fails.
const NOT_STEP_CODE: &[&str] = &[
    "src/benchmark.rs",
    "src/bin",
    "src/child.rs",
    "src/config.rs",
    "src/contention.rs",
    "src/filter.rs",
    "src/grid.rs",
    "src/harness.rs",
    "src/identities.rs",
    "src/lib.rs",
    "src/options.rs",
    "src/run.rs",
    "src/runner.rs",
    "src/running.rs",
    "src/schedule.rs",
    "src/select.rs",
    "src/watchdog.rs",
    "src/memory.rs",
    "src/record.rs",
    "src/run_info.rs",
    "src/catalogue.rs",
    "src/figures",
    "src/left.rs",
    "src/lock.rs",
    "src/main.rs",
    "src/publish.rs",
    "src/report",
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
    step_code_hashes();
    libtorch_shims();
}

/// csrc/: tch's fused Adam and TorchScript's freezing pass, compiled
/// against the libtorch that torch-sys builds with (`LIBTORCH`, set by
/// .cargo/config.toml) and its C++ ABI (the PyTorch wheels' since 2.6).
fn libtorch_shims() {
    const FILES: [&str; 3] = [
        "csrc/fused_adam.cpp",
        "csrc/torchscript_inference.cpp",
        "csrc/message.cpp",
    ];
    for f in FILES {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    let libtorch = std::env::var("LIBTORCH")
        .expect("LIBTORCH names libtorch (.cargo/config.toml: `make setup` links it)");
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".into());
    cc::Build::new()
        .cpp(true)
        .files(FILES)
        .include(Path::new(&libtorch).join("include"))
        .flag("-std=c++17")
        .define("_GLIBCXX_USE_CXX11_ABI", abi.as_str())
        .warnings(false)
        .compile("cnnb_libtorch");
}

/// Sets `STEP_CODE_HASH_<FRAMEWORK>` for every framework (see the top).
fn step_code_hashes() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").expect("Cargo.lock");
    let packages = locked_packages(&lock);
    let own: Vec<PathBuf> = FRAMEWORKS
        .iter()
        .flat_map(|(_, paths, _)| files(&paths.concat()))
        .collect();
    let mut shared = files(SHARED);
    shared.retain(|f| !own.contains(f));
    // A source file nobody classified would change no hash. Walked without
    // announcing it to cargo, so editing a report does not rerun this
    // script; a fresh build (CI's) always checks.
    let mut sources = Vec::new();
    let mut elsewhere = Vec::new();
    for p in ["src", "models/src"] {
        collect(Path::new(p), &mut sources);
    }
    for p in NOT_STEP_CODE {
        collect(Path::new(p), &mut elsewhere);
    }
    for f in sources {
        assert!(
            own.contains(&f) || shared.contains(&f) || elsewhere.contains(&f),
            "build.rs: {} is neither step code (SHARED, FRAMEWORKS) nor NOT_STEP_CODE",
            f.display()
        );
    }
    for (name, paths, crates) in FRAMEWORKS {
        let mut h = Fnv::default();
        let mut mine = files(&paths.concat());
        mine.extend(shared.iter().cloned());
        mine.sort();
        mine.dedup();
        for f in mine {
            h.add(f.to_string_lossy().as_bytes());
            h.add(&std::fs::read(&f).unwrap_or_default());
        }
        for pinned in closure(&packages, crates) {
            h.add(pinned.as_bytes());
        }
        let var = name.to_uppercase().replace('-', "_");
        println!("cargo:rustc-env=STEP_CODE_HASH_{var}={:016x}", h.0);
    }
}

/// FNV-1a, each part followed by a zero byte (a fixed function, so every
/// machine and toolchain agrees).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf29ce484222325)
    }
}

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().chain(&[0]) {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100000001b3);
        }
    }
}

/// Cargo.lock's packages: `name version` and the `name version` of each
/// of their dependencies. Read line by line (Cargo.lock's fixed layout)
/// rather than with a TOML crate, whose features would change the build
/// dependencies candle's CUDA kernels are built with and rebuild them.
fn locked_packages(lock: &str) -> Vec<(String, Vec<String>)> {
    let mut raw: Vec<(String, String, Vec<String>)> = Vec::new();
    let quoted = |l: &str| l.trim().trim_end_matches(',').trim_matches('"').to_string();
    let mut in_deps = false;
    for line in lock.lines() {
        if line == "[[package]]" {
            raw.push(Default::default());
            in_deps = false;
        } else if let (Some(p), Some(v)) = (raw.last_mut(), line.strip_prefix("name = ")) {
            p.0 = quoted(v);
        } else if let (Some(p), Some(v)) = (raw.last_mut(), line.strip_prefix("version = ")) {
            p.1 = quoted(v);
        } else if line == "dependencies = [" {
            in_deps = true;
        } else if line == "]" {
            in_deps = false;
        } else if let (true, Some(p)) = (in_deps, raw.last_mut()) {
            p.2.push(quoted(line));
        }
    }
    let version_of = |name: &str| {
        raw.iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.clone())
            .unwrap_or_default()
    };
    raw.iter()
        .map(|(name, version, deps)| {
            let deps = deps
                .iter()
                .map(|d| {
                    // "name", or "name version [(source)]" when several are locked.
                    let mut parts = d.split(' ');
                    let n = parts.next().unwrap_or("");
                    let v = parts.next().map_or_else(|| version_of(n), str::to_string);
                    format!("{n} {v}")
                })
                .collect();
            (format!("{name} {version}"), deps)
        })
        .collect()
}

/// `name version` of the `crates` (direct dependencies of this package)
/// and of everything they depend on, sorted.
fn closure(packages: &[(String, Vec<String>)], crates: &[&str]) -> Vec<String> {
    let root = format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let (_, direct) = packages
        .iter()
        .find(|(id, _)| *id == root)
        .expect("this package is in Cargo.lock");
    let mut todo: Vec<String> = direct
        .iter()
        .filter(|id| crates.iter().any(|c| id.split(' ').next() == Some(*c)))
        .cloned()
        .collect();
    assert_eq!(
        todo.len(),
        crates.len(),
        "every step crate is a dependency: {crates:?}"
    );
    let mut seen = std::collections::BTreeSet::new();
    while let Some(id) = todo.pop() {
        if seen.insert(id.clone()) {
            if let Some((_, deps)) = packages.iter().find(|(p, _)| *p == id) {
                todo.extend(deps.iter().cloned());
            }
        }
    }
    seen.into_iter().collect()
}

/// The files under `paths`, each path announced to cargo.
fn files(paths: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        println!("cargo:rerun-if-changed={p}");
        collect(Path::new(p), &mut out);
    }
    out.sort();
    out
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
            "cargo:warning=build.rs: listed path {} is missing",
            p.display()
        );
    }
}
