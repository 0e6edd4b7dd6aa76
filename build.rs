//! Link settings for the package's binaries (bench, tests, CLI):
//! - libtorch's library directory (reported by torch-sys) goes into the
//!   rpath, so `cargo bench` runs without LD_LIBRARY_PATH;
//! - with the `cuda` feature, `libtorch_cuda.so` is kept in the link. The
//!   linker's `--as-needed` drops it otherwise (nothing references it
//!   directly), and libtorch then sees no GPU (tch-rs issues #907, #980).

fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
