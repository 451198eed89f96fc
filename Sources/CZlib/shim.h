// zlib: gunzip of OpenAI's bpe_simple_vocab_16e6.txt.gz (Foundation on Linux has no gzip API).
#include <zlib.h>
