#ifndef CLIP_JPEG_ENCODE_H
#define CLIP_JPEG_ENCODE_H
// JPEG encoding (thumbnails) behind setjmp, like the decoders: a libjpeg error returns a status and
// a message instead of exiting or longjmp-ing through Swift frames.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CLIP_JPEG_ENCODE_OK = 0,
    CLIP_JPEG_ENCODE_BAD_ARGUMENT = 1,   // zero or oversized dimensions, null pointers, quality out of 1...100
    CLIP_JPEG_ENCODE_FAILED = 2,         // libjpeg reported an error; see message
    CLIP_JPEG_ENCODE_OUT_OF_MEMORY = 3,
} clip_jpeg_encode_status;

/// Encodes `rgb` ((height, width, 3) 8-bit, row-major, RGB interleaved) as a baseline JPEG with
/// 4:2:0 chroma at `quality` (1...100). On success `*out` is a malloc'ed buffer of `*out_size`
/// bytes that the caller releases with clip_jpeg_free. On failure `*out` is NULL and `message`
/// (when not NULL) holds up to `message_size` bytes of explanation.
clip_jpeg_encode_status clip_jpeg_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                                             uint8_t **out, size_t *out_size,
                                             char *message, size_t message_size);

void clip_jpeg_free(uint8_t *buffer);

#ifdef __cplusplus
}
#endif

#endif
