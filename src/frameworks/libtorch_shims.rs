//! The error convention of the C++ shims in csrc/ (fused Adam, TorchScript's
//! freezing pass): each function returns NULL, or a message that the Rust
//! side reads and hands back to `cnnb_free` (csrc/message.cpp).

use anyhow::{anyhow, Result};
use std::ffi::{c_char, CStr};

extern "C" {
    fn cnnb_free(message: *mut c_char);
}

/// `Ok`, or the C++ side's error message (freed here) said as `what`'s.
pub(super) fn check(what: &str, message: *mut c_char) -> Result<()> {
    if message.is_null() {
        return Ok(());
    }
    let text = unsafe { CStr::from_ptr(message) }
        .to_string_lossy()
        .into_owned();
    unsafe { cnnb_free(message) };
    Err(anyhow!("{what}: {text}"))
}
