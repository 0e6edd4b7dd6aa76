//! tch-jit's CPU inference graph as PyTorch users deploy a vision model:
//! the traced module frozen (`torch.jit.freeze`: weights as constants,
//! batch norm folded into the convolutions) or optimized for inference
//! (`torch.jit.optimize_for_inference`: frozen, then oneDNN's prepacked
//! convolutions with their activations fused, in oneDNN's layouts); bound
//! in csrc/torchscript_inference.cpp, as tch binds neither.

use super::fused_adam::check;
use anyhow::{Context, Result};
use std::ffi::{c_char, c_int, c_void, CString};
use tch::Tensor;

extern "C" {
    fn cnnb_module_optimize(
        path: *const c_char,
        optimize: c_int,
        example: *const c_void,
        out: *mut *mut c_void,
        frozen_only: *mut c_int,
    ) -> *mut c_char;
    fn cnnb_module_forward(
        module: *mut c_void,
        x: *const c_void,
        y: *mut *mut c_void,
    ) -> *mut c_char;
    fn cnnb_module_free(module: *mut c_void);
}

const WHAT: &str = "TorchScript's inference passes";

/// A module frozen or optimized for inference, owned by the C++ side.
pub struct Optimized {
    module: *mut c_void,
    /// Whether the module is frozen only, not optimized for inference
    /// (asked, or the optimized module failed on the example: see
    /// csrc/torchscript_inference.cpp).
    pub frozen_only: bool,
}

impl Optimized {
    /// `module` (a traced inference graph) frozen, or with `optimize`
    /// optimized for inference where that runs on `example` (frozen
    /// otherwise). It reaches the C++ side through a file (tch can save a
    /// module, not hand it over), removed afterwards.
    pub fn new(module: &tch::CModule, optimize: bool, example: &Tensor) -> Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "cnn-bench-{}-{:?}.pt",
            std::process::id(),
            std::thread::current().id()
        ));
        module.save(&path)?;
        let c_path = CString::new(path.to_string_lossy().as_bytes())?;
        let (mut out, mut frozen_only) = (std::ptr::null_mut(), 0);
        let done = check(WHAT, unsafe {
            cnnb_module_optimize(
                c_path.as_ptr(),
                optimize as c_int,
                example.as_ptr() as *const c_void,
                &mut out,
                &mut frozen_only,
            )
        });
        let _ = std::fs::remove_file(&path);
        done.with_context(|| format!("optimizing the traced graph saved at {}", path.display()))?;
        Ok(Optimized {
            module: out,
            frozen_only: frozen_only != 0,
        })
    }

    /// The module's output for `x`, without autograd.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut y = std::ptr::null_mut();
        check(WHAT, unsafe {
            cnnb_module_forward(self.module, x.as_ptr() as *const c_void, &mut y)
        })?;
        // A new handle (`new at::Tensor`) that the Tensor now owns.
        Ok(unsafe { Tensor::from_ptr(y as *mut torch_sys::C_tensor) })
    }
}

impl Drop for Optimized {
    fn drop(&mut self) {
        unsafe { cnnb_module_free(self.module) }
    }
}
