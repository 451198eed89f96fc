// JPEG encoding for thumbnails. libjpeg reports fatal errors through error_exit, which by default
// calls exit(); ours longjmps back here, so the failure stays inside this C function.
#include "jpeg_encode.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

struct encode_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

struct encode_state {
    struct jpeg_compress_struct cinfo;
    struct encode_error err;
    unsigned char *buffer;
    unsigned long size;
};

static void encode_error_exit(j_common_ptr cinfo) {
    struct encode_error *err = (struct encode_error *)cinfo->err;
    err->pub.format_message(cinfo, err->message);
    longjmp(err->jump, 1);
}

static void encode_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void set_message(char *message, size_t message_size, const char *text) {
    if (message && message_size > 0) {
        strncpy(message, text, message_size - 1);
        message[message_size - 1] = '\0';
    }
}

clip_jpeg_encode_status clip_jpeg_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                                             uint8_t **out, size_t *out_size,
                                             char *message, size_t message_size) {
    if (out) *out = NULL;
    if (out_size) *out_size = 0;
    set_message(message, message_size, "");
    if (!rgb || !out || !out_size || width == 0 || height == 0 || width > JPEG_MAX_DIMENSION ||
        height > JPEG_MAX_DIMENSION || quality < 1 || quality > 100) {
        set_message(message, message_size, "bad argument: dimensions must be 1...65500 and quality 1...100");
        return CLIP_JPEG_ENCODE_BAD_ARGUMENT;
    }

    // All state on the heap, set up before setjmp and never reassigned, so nothing read after a
    // longjmp needs `volatile`.
    struct encode_state *st = calloc(1, sizeof *st);
    if (!st) {
        set_message(message, message_size, "out of memory");
        return CLIP_JPEG_ENCODE_OUT_OF_MEMORY;
    }
    st->cinfo.err = jpeg_std_error(&st->err.pub);
    st->err.pub.error_exit = encode_error_exit;
    st->err.pub.output_message = encode_output_message;
    if (setjmp(st->err.jump)) {
        jpeg_destroy_compress(&st->cinfo);
        free(st->buffer);
        set_message(message, message_size, st->err.message);
        free(st);
        return CLIP_JPEG_ENCODE_FAILED;
    }

    jpeg_create_compress(&st->cinfo);
    // jpeg_mem_dest grows the buffer with malloc/free; we own it afterwards.
    jpeg_mem_dest(&st->cinfo, &st->buffer, &st->size);
    st->cinfo.image_width = width;
    st->cinfo.image_height = height;
    st->cinfo.input_components = 3;
    st->cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&st->cinfo);
    jpeg_set_quality(&st->cinfo, quality, TRUE);
    st->cinfo.optimize_coding = TRUE;   // smaller thumbnails for the cost of a second pass
    jpeg_start_compress(&st->cinfo, TRUE);
    const size_t stride = (size_t)width * 3;
    while (st->cinfo.next_scanline < st->cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)st->cinfo.next_scanline * stride);
        jpeg_write_scanlines(&st->cinfo, &row, 1);
    }
    jpeg_finish_compress(&st->cinfo);
    jpeg_destroy_compress(&st->cinfo);

    clip_jpeg_encode_status status = CLIP_JPEG_ENCODE_OK;
    if (st->buffer && st->size > 0) {
        *out = st->buffer;
        *out_size = st->size;
    } else {
        free(st->buffer);
        set_message(message, message_size, "out of memory");
        status = CLIP_JPEG_ENCODE_OUT_OF_MEMORY;
    }
    free(st);
    return status;
}

void clip_jpeg_free(uint8_t *buffer) { free(buffer); }
