#ifndef CLIP_DECODER_INTERNAL_H
#define CLIP_DECODER_INTERNAL_H
// Private to CImageCodecs (deliberately outside include/, so it is not part of the module): the
// decoder state shared by image_codecs.c, jpeg_decode.c, png_decode.c, orientation.c and pixels.c,
// and the functions they call in one another.
#include "image_codecs.h"

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jpeglib.h>
#include <png.h>

// MARK: - Decoder state

struct clip_jpeg_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

struct clip_decoder {
    clip_image_format format;
    const uint8_t *data;
    size_t size;
    uint32_t width, height;   // stored (before orientation)
    int orientation;          // 1...8, known after decode (PNG may carry eXIf after IDAT)
    int truncated;            // the data ended before the image did
    int finishing;            // PNG past the last row: a missing IEND is tolerated
    int last_error_code;      // libjpeg msg_code of the fatal error
    char message[JMSG_LENGTH_MAX + 64];

    // JPEG
    struct jpeg_decompress_struct jpeg;
    struct clip_jpeg_error jpeg_error;
    struct jpeg_progress_mgr jpeg_progress;
    int jpeg_created;

    // PNG
    png_structp png;
    png_infop png_info;
    size_t png_offset;
    int png_has_trns;
    int png_trns_gray;        // raw tRNS values, compared the way Pillow does (see png_convert_row)
    int png_trns_red, png_trns_green, png_trns_blue;

    // Scratch buffers, freed in clip_decoder_free whatever path was taken.
    uint8_t *row;             // stored row(s) in the codec's native layout
    uint8_t *rgb_row;         // a block of stored JPEG rows as RGB
    uint8_t *image;           // whole native image (interlaced PNG) or a copy for reorientation
    png_bytep *row_pointers;
};

// image_codecs.c: copies `text` into d->message (truncated to fit).
void clip_set_message(clip_decoder *d, const char *text);

// MARK: - Pixel helpers

// PIL's alpha_composite of (v, a) over opaque white (AlphaComposite.c with dst = 255,255,255,255).
static inline uint8_t over_white(uint32_t v, uint32_t a) {
    if (a == 0) return 255;
    uint32_t t = v * a * 128 + 255 * (255 - a) * 128 + (0x80 << 7);
    return (uint8_t)((((t >> 8) + t) >> 8) >> 7);
}

// PIL's MULDIV255: a*b/255 rounded.
static inline uint8_t muldiv255(uint32_t a, uint32_t b) {
    uint32_t t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

// Rows decoded per libjpeg call and placed together: for rotations this turns one strided
// 3-byte write per pixel into runs of ROW_BLOCK pixels, which keeps the scatter cache-friendly.
enum { ROW_BLOCK = 64 };

// pixels.c: stored rows into the upright output, and the upright dimensions.
void clip_place_rows(uint8_t *out, size_t w, size_t h, int orientation, size_t sy0, size_t n,
                     const uint8_t *rows);
// (either output pointer of clip_upright_size may be NULL)
void clip_upright_size(const clip_decoder *d, uint32_t *out_width, uint32_t *out_height);

// MARK: - Orientation (orientation.c; clip_exif_orientation is public, in image_codecs.h)

int clip_xmp_orientation(const uint8_t *data, size_t size);

// An EXIF payload's TIFF header ("Exif\0\0" prefix allowed): moves `*data`/`*size` to the TIFF
// start, sets `*big` (byte order) and `*ifd0` (offset of the first IFD); 0 when it is not one.
int clip_tiff_header(const uint8_t **data, size_t *size, int *big, uint32_t *ifd0);

// TIFF integers (EXIF), big- or little-endian; the caller checks the bounds.
static inline uint32_t clip_read_u16(const uint8_t *p, int big) {
    return big ? ((uint32_t)p[0] << 8 | p[1]) : ((uint32_t)p[1] << 8 | p[0]);
}

static inline uint32_t clip_read_u32(const uint8_t *p, int big) {
    return big ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
               : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}
int clip_effective_orientation(int exif, int xmp);

// MARK: - Codecs (each sets its own setjmp; d->message explains any failure)

clip_codec_status clip_jpeg_open(clip_decoder *d);
clip_codec_status clip_jpeg_decode(clip_decoder *d, uint8_t *out);
uint32_t clip_jpeg_reduce(clip_decoder *d, uint32_t min_short_side);
clip_codec_status clip_png_open(clip_decoder *d);
clip_codec_status clip_png_decode(clip_decoder *d, uint8_t *out);

#endif
