// The shims' one error convention: a function of csrc/ returns NULL, or an
// error message (`strdup`ed from the C++ exception) that Rust reads and
// hands back here to free (src/frameworks/libtorch_shims.rs).
#include <cstdlib>

extern "C" {

void cnnb_free(char *message) { free(message); }
}
