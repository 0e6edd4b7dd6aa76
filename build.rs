//! Puts libtorch's library directory (reported by torch-sys) in the rpath of
//! every binary of this package, so `cargo bench` runs without
//! LD_LIBRARY_PATH.

fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
