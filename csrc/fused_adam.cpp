// Adam as PyTorch runs it with `fused=True`: libtorch's multi-tensor kernel
// `_fused_adam_` updates every parameter in a few launches, where tch's
// `nn::Adam` (libtorch's C++ `torch::optim::Adam`) launches several kernels
// per parameter. tch 0.24 binds neither `_fused_adam_` nor the `_foreach_`
// ops, so this file does. Tensors arrive as tch's handles (`at::Tensor*`).
// Each function returns NULL, or an error message (csrc/message.cpp).
#include <ATen/core/Tensor.h>
#include <ATen/ops/_fused_adam.h>

#include <cstring>
#include <exception>
#include <vector>

extern "C" {

// One Adam step (no weight decay, no amsgrad) on the parameters that have a
// gradient, as PyTorch's Adam skips those without. `step` counts the steps
// taken, this one included (a float scalar on the parameters' device);
// every parameter reads the same one.
char *cnnb_fused_adam(at::Tensor **params, at::Tensor **exp_avgs,
                      at::Tensor **exp_avg_sqs, at::Tensor *step, size_t n,
                      double lr, double beta1, double beta2, double eps) {
  try {
    std::vector<at::Tensor> p, g, m, v, s;
    for (size_t i = 0; i < n; i++) {
      const at::Tensor &grad = params[i]->grad();
      if (!grad.defined()) continue;
      p.push_back(*params[i]);
      g.push_back(grad);
      m.push_back(*exp_avgs[i]);
      v.push_back(*exp_avg_sqs[i]);
      s.push_back(*step);
    }
    at::_fused_adam_(p, g, m, v, {}, s, lr, beta1, beta2, /*weight_decay=*/0.0,
                     eps, /*amsgrad=*/false, /*maximize=*/false);
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}

// Sets the parameters' gradients to none, as PyTorch's `zero_grad()` does
// by default: the next backward pass writes them afresh instead of adding
// to zeroed memory.
char *cnnb_grads_to_none(at::Tensor **params, size_t n) {
  try {
    for (size_t i = 0; i < n; i++) params[i]->mutable_grad().reset();
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}

}
