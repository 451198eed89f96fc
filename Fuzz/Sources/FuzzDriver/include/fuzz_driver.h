// libFuzzer's entry for programs that have their own main (compiler-rt FuzzerInterface.h). SwiftPM
// names an executable's entry point <Module>_main and aliases main to it, so each fuzz target
// defines that function and hands its input callback to this driver.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
