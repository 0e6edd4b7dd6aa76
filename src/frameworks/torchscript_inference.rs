//! tch-jit's CPU inference graph as PyTorch users deploy a vision model:
//! the traced module frozen (`torch.jit.freeze`: weights as constants,
//! batch norm folded into the convolutions), bound in
//! csrc/torchscript_inference.cpp, as tch does not bind it. Frozen rather
//! than `optimize_for_inference`: with channels-last weights and images
//! freezing alone was the faster (docs/findings.md).

use super::libtorch_shims::check;
use anyhow::{Context, Result};
use std::ffi::{c_char, c_void, CString};
use tch::Tensor;

extern "C" {
    fn cnnb_module_freeze(path: *const c_char, out: *mut *mut c_void) -> *mut c_char;
    fn cnnb_module_forward(
        module: *mut c_void,
        x: *const c_void,
        y: *mut *mut c_void,
    ) -> *mut c_char;
    fn cnnb_module_free(module: *mut c_void);
}

const WHAT: &str = "TorchScript's freezing pass";

/// A frozen module, owned by the C++ side.
pub struct Frozen {
    module: *mut c_void,
}

impl Frozen {
    /// `module` (a traced inference graph) frozen. It reaches the C++ side
    /// through a file (tch can save a module, not hand it over), removed
    /// afterwards.
    pub fn new(module: &tch::CModule) -> Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "cnn-bench-{}-{:?}.pt",
            std::process::id(),
            std::thread::current().id()
        ));
        module.save(&path)?;
        let c_path = CString::new(path.to_string_lossy().as_bytes())?;
        let mut out = std::ptr::null_mut();
        let done = check(WHAT, unsafe {
            cnnb_module_freeze(c_path.as_ptr(), &mut out)
        });
        let _ = std::fs::remove_file(&path);
        done.with_context(|| format!("freezing the traced graph saved at {}", path.display()))?;
        Ok(Frozen { module: out })
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

impl Drop for Frozen {
    fn drop(&mut self) {
        unsafe { cnnb_module_free(self.module) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// A traced convolution, frozen: it computes what it traced, and an
    /// input it cannot take comes back as an error naming the pass, not as
    /// an abort (the shims' messages, libtorch_shims.rs).
    #[test]
    fn frozen_module_runs_and_reports_errors() -> Result<()> {
        let w = Tensor::randn([4, 3, 3, 3], (Kind::Float, Device::Cpu));
        let x = Tensor::randn([2, 3, 8, 8], (Kind::Float, Device::Cpu));
        let conv = |ins: &[Tensor]| vec![ins[0].conv2d::<Tensor>(&w, None, 1, 1, 1, 1)];
        let module =
            tch::CModule::create_by_tracing("conv", "forward", &[x.shallow_clone()], &mut {
                conv
            })?;
        let frozen = Frozen::new(&module)?;
        let y = frozen.forward(&x)?;
        assert!(y.allclose(&x.conv2d::<Tensor>(&w, None, 1, 1, 1, 1), 1e-5, 1e-6, false));
        let wrong = Tensor::randn([2, 5, 8, 8], (Kind::Float, Device::Cpu));
        let e = frozen.forward(&wrong).unwrap_err().to_string();
        assert!(e.starts_with("TorchScript's freezing pass: "), "{e}");
        Ok(())
    }
}
