// JPEG (libjpeg-turbo) and PNG (libpng 1.6) decoding to upright 8-bit RGB.
// Pixel semantics follow what the reference pipeline sees: Hugging Face `convert_to_rgb` on
// `PIL.ImageOps.exif_transpose(Image.open(...))` with Pillow 13 (see tools/make_decoder_fixtures.py).
// Every libjpeg/libpng call sits behind a setjmp (jpeg_decode.c, png_decode.c); all state lives in
// the heap-allocated decoder so nothing needs `volatile` across a longjmp, and clip_decoder_free
// releases it all. This file: format sniffing and the public API; the state is in decoder_internal.h,
// orientation parsing in orientation.c, row placement in pixels.c.
#include "decoder_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// MARK: - Decoder state

void clip_set_message(clip_decoder *d, const char *text) {
    snprintf(d->message, sizeof d->message, "%s", text);
}

// MARK: - Format sniffing

clip_image_format clip_sniff_format(const uint8_t *data, size_t size) {
    static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (data == NULL) return CLIP_FORMAT_UNKNOWN;
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return CLIP_FORMAT_JPEG;
    if (size >= 8 && memcmp(data, png_signature, 8) == 0) return CLIP_FORMAT_PNG;
    return CLIP_FORMAT_UNKNOWN;
}

// MARK: - Public API

clip_codec_status clip_decoder_open(const uint8_t *data, size_t size, clip_decoder **out) {
    if (out == NULL) return CLIP_CODEC_BAD_ARGUMENT;
    *out = NULL;
    clip_decoder *d = calloc(1, sizeof *d);
    if (d == NULL) return CLIP_CODEC_OUT_OF_MEMORY;
    *out = d;
    d->data = data;
    d->size = size;
    d->orientation = 1;
    d->format = clip_sniff_format(data, size);
    switch (d->format) {
    case CLIP_FORMAT_JPEG: return clip_jpeg_open(d);
    case CLIP_FORMAT_PNG: return clip_png_open(d);
    default:
        clip_set_message(d, "neither JPEG nor PNG magic bytes");
        return CLIP_CODEC_NOT_IMAGE;
    }
}

clip_image_format clip_decoder_format(const clip_decoder *d) { return d ? d->format : CLIP_FORMAT_UNKNOWN; }
uint32_t clip_decoder_stored_width(const clip_decoder *d) { return d ? d->width : 0; }
uint32_t clip_decoder_stored_height(const clip_decoder *d) { return d ? d->height : 0; }
int clip_decoder_orientation(const clip_decoder *d) { return d ? d->orientation : 1; }
const char *clip_decoder_message(const clip_decoder *d) { return d ? d->message : "no decoder"; }

uint32_t clip_decoder_reduce(clip_decoder *d, uint32_t min_short_side) {
    if (d == NULL || d->format != CLIP_FORMAT_JPEG || d->width == 0 || d->height == 0) return 1;
    return clip_jpeg_reduce(d, min_short_side);
}

clip_codec_status clip_decoder_decode(clip_decoder *d, uint8_t *rgb, size_t rgb_size,
                                      uint32_t *out_width, uint32_t *out_height) {
    if (d == NULL || rgb == NULL || d->width == 0 || d->height == 0 ||
        rgb_size != (size_t)d->width * d->height * 3) {
        if (d) clip_set_message(d, "output buffer does not match the image size");
        return CLIP_CODEC_BAD_ARGUMENT;
    }
    clip_codec_status status;
    switch (d->format) {
    case CLIP_FORMAT_JPEG: status = clip_jpeg_decode(d, rgb); break;
    case CLIP_FORMAT_PNG: status = clip_png_decode(d, rgb); break;
    default: clip_set_message(d, "decoder was not opened"); return CLIP_CODEC_BAD_ARGUMENT;
    }
    if (status == CLIP_CODEC_OK) clip_upright_size(d, out_width, out_height);
    return status;
}

void clip_decoder_free(clip_decoder *d) {
    if (d == NULL) return;
    if (d->jpeg_created) jpeg_destroy_decompress(&d->jpeg);
    if (d->png != NULL) png_destroy_read_struct(&d->png, d->png_info ? &d->png_info : NULL, NULL);
    free(d->row);
    free(d->rgb_row);
    free(d->image);
    free(d->row_pointers);
    free(d);
}
