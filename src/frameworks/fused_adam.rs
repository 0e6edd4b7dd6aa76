//! Adam for tch's train steps as PyTorch runs it with `fused=True`:
//! libtorch's multi-tensor `_fused_adam_` (bound in csrc/fused_adam.cpp),
//! a few kernel launches for all the parameters, where tch's `nn::Adam`
//! (libtorch's C++ `torch::optim::Adam`) launches several per parameter;
//! and gradients set to none rather than zeroed, as PyTorch's `zero_grad()`
//! does. The same Adam: lr 1e-3, betas 0.9/0.999, eps 1e-8, no weight decay.

use super::libtorch_shims::check;
use anyhow::Result;
use std::ffi::{c_char, c_void};
use tch::{Kind, Tensor};

extern "C" {
    fn cnnb_fused_adam(
        params: *const *mut c_void,
        exp_avgs: *const *mut c_void,
        exp_avg_sqs: *const *mut c_void,
        step: *mut c_void,
        n: usize,
        lr: f64,
        beta1: f64,
        beta2: f64,
        eps: f64,
    ) -> *mut c_char;
    fn cnnb_grads_to_none(params: *const *mut c_void, n: usize) -> *mut c_char;
}

pub struct FusedAdam {
    params: Vec<Tensor>,
    exp_avgs: Vec<Tensor>,
    exp_avg_sqs: Vec<Tensor>,
    /// Steps taken: one float scalar on the parameters' device, which
    /// every parameter's update reads.
    step: Tensor,
    lr: f64,
}

impl FusedAdam {
    /// Adam over `params` (a var store's trainable variables).
    pub fn new(params: Vec<Tensor>, lr: f64) -> Self {
        let device = params.first().map_or(tch::Device::Cpu, |p| p.device());
        let zeros = || params.iter().map(|p| p.zeros_like()).collect();
        FusedAdam {
            exp_avgs: zeros(),
            exp_avg_sqs: zeros(),
            step: Tensor::zeros([], (Kind::Float, device)),
            params,
            lr,
        }
    }

    /// Sets every gradient to none.
    pub fn zero_grad(&mut self) -> Result<()> {
        let p = handles(&mut self.params);
        check(WHAT, unsafe { cnnb_grads_to_none(p.as_ptr(), p.len()) })
    }

    /// One update from the gradients of the last backward pass.
    pub fn step(&mut self) -> Result<()> {
        tch::no_grad(|| {
            let _ = self.step.g_add_scalar_(1);
            let (p, m, v) = (
                handles(&mut self.params),
                handles(&mut self.exp_avgs),
                handles(&mut self.exp_avg_sqs),
            );
            let step = self.step.as_mut_ptr() as *mut c_void;
            check(WHAT, unsafe {
                cnnb_fused_adam(
                    p.as_ptr(),
                    m.as_ptr(),
                    v.as_ptr(),
                    step,
                    p.len(),
                    self.lr,
                    0.9,
                    0.999,
                    1e-8,
                )
            })
        })
    }
}

/// tch's handles (`at::Tensor*`), valid while `ts` is borrowed.
fn handles(ts: &mut [Tensor]) -> Vec<*mut c_void> {
    ts.iter_mut()
        .map(|t| t.as_mut_ptr() as *mut c_void)
        .collect()
}

const WHAT: &str = "libtorch's fused Adam";
