// PNG decoding (libpng 1.6) behind setjmp; the state lives in clip_decoder (decoder_internal.h).
#include "decoder_internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

// MARK: - PNG

static void png_error_handler(png_structp png, png_const_charp text) {
    clip_decoder *d = (clip_decoder *)png_get_error_ptr(png);
    if (!d->truncated) clip_set_message(d, text);
    png_longjmp(png, 1);
}

static void png_warning_handler(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void png_read_from_memory(png_structp png, png_bytep target, size_t length) {
    clip_decoder *d = (clip_decoder *)png_get_io_ptr(png);
    if (length > d->size - d->png_offset) {
        d->truncated = 1;
        clip_set_message(d, "truncated: premature end of PNG data");
        png_error(png, "truncated");
    }
    memcpy(target, d->data + d->png_offset, length);
    d->png_offset += length;
}

static clip_codec_status png_failure_status(clip_decoder *d) {
    return d->truncated ? CLIP_CODEC_TRUNCATED : CLIP_CODEC_CORRUPT;
}

clip_codec_status clip_png_open(clip_decoder *d) {
    d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, png_error_handler, png_warning_handler);
    if (d->png == NULL) {
        clip_set_message(d, "out of memory creating the PNG reader");
        return CLIP_CODEC_OUT_OF_MEMORY;
    }
    d->png_info = png_create_info_struct(d->png);
    if (d->png_info == NULL) {
        clip_set_message(d, "out of memory creating the PNG info");
        return CLIP_CODEC_OUT_OF_MEMORY;
    }
    if (setjmp(png_jmpbuf(d->png))) return png_failure_status(d);

    png_set_read_fn(d->png, d, png_read_from_memory);
    // A bad CRC in any chunk is an error (libpng's default only warns for ancillary chunks;
    // Pillow rejects those too).
    png_set_crc_action(d->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    // Our own pixel limit decides (in Swift, from these dimensions); libpng's default 1e6 per side
    // would otherwise report a huge image as corrupt.
    png_set_user_limits(d->png, 0x7fffffffU, 0x7fffffffU);
    // Ancillary chunks cannot cost more than the image: at most 64 text/unknown chunks are kept
    // (later ones are skipped unread) and none inflates past 1 MiB (Pillow's MAX_TEXT_CHUNK), so a
    // file of hundreds of compressed text chunks is not hundreds of inflates. XMP (for orientation)
    // lives in a text chunk, so text chunks are capped, not dropped.
    png_set_chunk_cache_max(d->png, 64);
    png_set_chunk_malloc_max(d->png, 1 << 20);
    png_read_info(d->png, d->png_info);
    d->width = png_get_image_width(d->png, d->png_info);
    d->height = png_get_image_height(d->png, d->png_info);
    return CLIP_CODEC_OK;
}

// Converts one row after libpng's transforms (channels x depth) into RGB. Transparency follows
// Hugging Face convert_to_rgb: an image with alpha or a tRNS chunk is composited onto white by PIL.
// For gray/RGB tRNS Pillow compares the 8-bit pixel with the raw tRNS value, which we copy exactly
// (e.g. a 2-bit gray tRNS of 2 never matches the expanded value 170).
static void png_convert_row(const clip_decoder *d, int channels, int depth, const uint8_t *src,
                            uint8_t *rgb, size_t w) {
    if (channels == 1 && depth == 8) {
        for (size_t x = 0; x < w; x++) {
            uint8_t g = src[x];
            if (d->png_has_trns && g == d->png_trns_gray) g = 255;
            rgb[3 * x] = rgb[3 * x + 1] = rgb[3 * x + 2] = g;
        }
    } else if (channels == 1 && depth == 16) {
        // Pillow opens 16-bit gray as mode "I;16", whose convert("RGB") clips to 0...255; a tRNS
        // value matches the clipped pixel against its low byte.
        for (size_t x = 0; x < w; x++) {
            uint32_t v = (uint32_t)src[2 * x] << 8 | src[2 * x + 1];
            uint8_t g = v > 255 ? 255 : (uint8_t)v;
            if (d->png_has_trns && g == (d->png_trns_gray & 0xFF)) g = 255;
            rgb[3 * x] = rgb[3 * x + 1] = rgb[3 * x + 2] = g;
        }
    } else if (channels == 2) {
        for (size_t x = 0; x < w; x++) {
            uint8_t g = over_white(src[2 * x], src[2 * x + 1]);
            rgb[3 * x] = rgb[3 * x + 1] = rgb[3 * x + 2] = g;
        }
    } else if (channels == 3) {
        for (size_t x = 0; x < w; x++) {
            const uint8_t *p = src + 3 * x;
            if (d->png_has_trns && p[0] == d->png_trns_red && p[1] == d->png_trns_green &&
                p[2] == d->png_trns_blue) {
                rgb[3 * x] = rgb[3 * x + 1] = rgb[3 * x + 2] = 255;
            } else {
                rgb[3 * x] = p[0];
                rgb[3 * x + 1] = p[1];
                rgb[3 * x + 2] = p[2];
            }
        }
    } else {
        for (size_t x = 0; x < w; x++) {
            const uint8_t *p = src + 4 * x;
            rgb[3 * x] = over_white(p[0], p[3]);
            rgb[3 * x + 1] = over_white(p[1], p[3]);
            rgb[3 * x + 2] = over_white(p[2], p[3]);
        }
    }
}

static int png_metadata_orientation(clip_decoder *d) {
    int exif = 0, xmp = 0;
#ifdef PNG_eXIf_SUPPORTED
    png_bytep exif_data = NULL;
    png_uint_32 exif_size = 0;
    if (png_get_eXIf_1(d->png, d->png_info, &exif_size, &exif_data) != 0 && exif_data != NULL)
        exif = clip_exif_orientation(exif_data, exif_size);
#endif
    png_textp text = NULL;
    int text_count = 0;
    png_get_text(d->png, d->png_info, &text, &text_count);
    for (int i = 0; i < text_count; i++) {
        if (text[i].key != NULL && strcmp(text[i].key, "XML:com.adobe.xmp") == 0 && text[i].text != NULL) {
            size_t n = text[i].itxt_length ? text[i].itxt_length : text[i].text_length;
            xmp = clip_xmp_orientation((const uint8_t *)text[i].text, n);
        }
    }
    return clip_effective_orientation(exif, xmp);
}

// Rows were written in stored order; apply the orientation found in eXIf/XMP (rare for PNG).
static clip_codec_status png_reorient(clip_decoder *d, uint8_t *out) {
    const size_t w = d->width, h = d->height;
    d->orientation = png_metadata_orientation(d);
    if (d->orientation == 1) return CLIP_CODEC_OK;
    free(d->image);
    d->image = malloc(w * h * 3);
    if (d->image == NULL) {
        clip_set_message(d, "out of memory reorienting a PNG");
        return CLIP_CODEC_OUT_OF_MEMORY;
    }
    memcpy(d->image, out, w * h * 3);
    for (size_t y = 0; y < h; y += ROW_BLOCK) {
        const size_t n = h - y < ROW_BLOCK ? h - y : ROW_BLOCK;
        clip_place_rows(out, w, h, d->orientation, y, n, d->image + y * w * 3);
    }
    return CLIP_CODEC_OK;
}

clip_codec_status clip_png_decode(clip_decoder *d, uint8_t *out) {
    png_structp png = d->png;
    png_infop info = d->png_info;
    if (setjmp(png_jmpbuf(png))) {
        // After the last row, a file that merely stops early (no IEND) still decoded fully.
        if (d->finishing && d->truncated) return png_reorient(d, out);
        return png_failure_status(d);
    }

    const int color_type = png_get_color_type(png, info);
    const int bit_depth = png_get_bit_depth(png, info);
    const int interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;

    if ((color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_RGB) &&
        png_get_valid(png, info, PNG_INFO_tRNS)) {
        png_color_16p trans = NULL;
        png_get_tRNS(png, info, NULL, NULL, &trans);
        if (trans != NULL) {
            d->png_has_trns = 1;
            // Pillow stores 1-bit gray transparency as 0/255 (mode "1"), other depths raw.
            d->png_trns_gray = (bit_depth == 1 && color_type == PNG_COLOR_TYPE_GRAY)
                                   ? (trans->gray ? 255 : 0) : trans->gray;
            d->png_trns_red = trans->red;
            d->png_trns_green = trans->green;
            d->png_trns_blue = trans->blue;
        }
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);  // + alpha from tRNS
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    // 16-bit RGB, RGBA, gray+alpha: Pillow keeps the high byte. 16-bit gray stays 16 (clipped above).
    if (bit_depth == 16 && color_type != PNG_COLOR_TYPE_GRAY) png_set_strip_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    const size_t w = d->width, h = d->height;
    const int channels = png_get_channels(png, info);
    const int depth = png_get_bit_depth(png, info);
    const size_t rowbytes = png_get_rowbytes(png, info);
    if (!((channels >= 1 && channels <= 4 && depth == 8) || (channels == 1 && depth == 16)) ||
        rowbytes < w * (size_t)channels * (size_t)(depth / 8)) {
        snprintf(d->message, sizeof d->message, "PNG layout %d channels x %d bits", channels, depth);
        return CLIP_CODEC_UNSUPPORTED;
    }
    if (interlaced) {
        // Adam7 passes revisit every row, so libpng needs the whole image in its native layout.
        d->image = malloc(rowbytes * h);
        d->row_pointers = malloc(sizeof(png_bytep) * h);
        if (d->image == NULL || d->row_pointers == NULL) {
            clip_set_message(d, "out of memory for an interlaced PNG");
            return CLIP_CODEC_OUT_OF_MEMORY;
        }
        for (size_t y = 0; y < h; y++) d->row_pointers[y] = d->image + y * rowbytes;
        png_read_image(png, d->row_pointers);
        for (size_t y = 0; y < h; y++) png_convert_row(d, channels, depth, d->row_pointers[y], out + y * w * 3, w);
    } else {
        d->row = malloc(rowbytes);
        if (d->row == NULL) {
            clip_set_message(d, "out of memory for a PNG row");
            return CLIP_CODEC_OUT_OF_MEMORY;
        }
        for (size_t y = 0; y < h; y++) {
            png_read_row(png, d->row, NULL);
            png_convert_row(d, channels, depth, d->row, out + y * w * 3, w);
        }
    }
    // eXIf/iTXt may follow IDAT, so orientation is known only after png_read_end.
    d->finishing = 1;
    png_read_end(png, info);
    return png_reorient(d, out);
}
