// TorchScript's freezing pass, as PyTorch users deploy a vision model on
// the CPU (`torch.jit.freeze`), which tch 0.24 does not bind. The frozen
// module is kept here and run from here. Tensors arrive and leave as tch's
// handles (`at::Tensor*`). Each function returns NULL, or an error message
// (csrc/message.cpp).
#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <cstring>
#include <exception>
#include <string>

extern "C" {

// Loads the TorchScript module saved at `path` (tch's `CModule::save`),
// puts it in eval mode and freezes it (`torch.jit.freeze`: weights become
// constants, batch norm folds into the convolutions). `*out` owns the
// result (free it with `cnnb_module_free`).
char *cnnb_module_freeze(const char *path, void **out) {
  try {
    at::NoGradGuard no_grad;
    torch::jit::Module module = torch::jit::load(std::string(path));
    module.eval();
    *out = new torch::jit::Module(torch::jit::freeze(module));
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
