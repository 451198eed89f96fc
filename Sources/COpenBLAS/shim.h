// OpenBLAS's CBLAS interface (Debian: /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h,
// found through pkg-config's cflags).
#include <cblas.h>
