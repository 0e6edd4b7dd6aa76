// TorchScript's inference passes, as PyTorch users deploy a vision model on
// the CPU: `torch.jit.freeze` and `torch.jit.optimize_for_inference`. tch
// 0.24 binds neither, and a module the second makes cannot be saved and
// loaded back (PyTorch says so), so this file keeps the module and runs it.
// Tensors arrive and leave as tch's handles (`at::Tensor*`). Each function
// returns NULL, or an error message the caller frees with `cnnb_free`.
#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

extern "C" {

// Loads the TorchScript module saved at `path` (tch's `CModule::save`),
// puts it in eval mode and freezes it (`torch.jit.freeze`: weights become
// constants, batch norm folds into the convolutions); with `optimize`, it
// optimizes it for inference instead (`torch.jit.optimize_for_inference`:
// freezing, then oneDNN's prepacked convolutions, fused activations and
// layouts). `*out` owns the result (free it with `cnnb_module_free`). The
// optimized module runs once on `example`: where it fails (libtorch's
// oneDNN adaptive average pooling takes only output sizes that divide the
// input's: VGG at 128 and 320 px), the module is frozen only, as a PyTorch
// user would fall back to `torch.jit.freeze`. `*frozen_only` says which.
char *cnnb_module_optimize(const char *path, int optimize,
                           const at::Tensor *example, void **out,
                           int *frozen_only) {
  try {
    at::NoGradGuard no_grad;
    auto load = [&] {
      torch::jit::Module module = torch::jit::load(std::string(path));
      module.eval();
      return module;
    };
    if (optimize) {
      try {
        torch::jit::Module module = load();
        torch::jit::Module optimized = torch::jit::optimize_for_inference(module);
        optimized.forward({*example});
        *out = new torch::jit::Module(std::move(optimized));
        *frozen_only = 0;
        return nullptr;
      } catch (const std::exception &) {
        // Frozen below, loaded again: the passes rewrite the graph they
        // were given.
      }
    }
    *out = new torch::jit::Module(torch::jit::freeze(load()));
    *frozen_only = 1;
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}

// Runs the module's `forward` on `x` without autograd; `*y` is a new
// tch handle to the output tensor.
char *cnnb_module_forward(void *module, const at::Tensor *x, at::Tensor **y) {
  try {
    at::NoGradGuard no_grad;
    auto out = static_cast<torch::jit::Module *>(module)->forward({*x});
    *y = new at::Tensor(out.toTensor());
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}

void cnnb_module_free(void *module) {
  delete static_cast<torch::jit::Module *>(module);
}
}
