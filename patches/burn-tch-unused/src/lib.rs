//! Never built: see this crate's Cargo.toml.
