// Only the declaration in include/fuzz_driver.h is needed; the definition comes from libFuzzer.
#include "fuzz_driver.h"
