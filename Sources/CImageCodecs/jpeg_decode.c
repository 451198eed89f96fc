// JPEG decoding (libjpeg-turbo) behind setjmp; the state lives in clip_decoder (decoder_internal.h).
#include "decoder_internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

// MARK: - JPEG

static void jpeg_error_exit(j_common_ptr cinfo) {
    clip_decoder *d = (clip_decoder *)cinfo->client_data;
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    clip_set_message(d, text);
    d->last_error_code = cinfo->err->msg_code;
    longjmp(d->jpeg_error.jump, 1);
}

// Warnings (corrupt-but-decodable data) do not abort, except running out of data: libjpeg then
// invents an EOI and returns a grey-filled image, while Pillow raises "image file is truncated"
// (even when only the final EOI marker is missing), and so do we.
static void jpeg_emit_message(j_common_ptr cinfo, int level) {
    clip_decoder *d = (clip_decoder *)cinfo->client_data;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        d->truncated = 1;
        clip_set_message(d, "truncated: premature end of JPEG data");
        longjmp(d->jpeg_error.jump, 1);
    }
    if (level < 0) cinfo->err->num_warnings++;
}

static void jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

// A progressive JPEG may carry thousands of tiny scans that each cost a pass over the whole
// coefficient buffer (a known libjpeg-turbo denial of service); real encoders write about ten.
enum { JPEG_MAX_SCANS = 500 };

static void jpeg_progress_monitor(j_common_ptr cinfo) {
    struct jpeg_decompress_struct *dinfo = (struct jpeg_decompress_struct *)cinfo;
    if (dinfo->input_scan_number > JPEG_MAX_SCANS) {
        clip_decoder *d = (clip_decoder *)cinfo->client_data;
        snprintf(d->message, sizeof d->message, "JPEG has more than %d scans", JPEG_MAX_SCANS);
        d->last_error_code = -1;
        longjmp(d->jpeg_error.jump, 1);
    }
}

static clip_codec_status jpeg_failure_status(clip_decoder *d) {
    if (d->truncated) return CLIP_CODEC_TRUNCATED;
    switch (d->last_error_code) {
    case JERR_BAD_PRECISION:
    case JERR_NOT_COMPILED:
    case JERR_ARITH_NOTIMPL:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_BAD_J_COLORSPACE:
        return CLIP_CODEC_UNSUPPORTED;
    case JERR_OUT_OF_MEMORY:
        return CLIP_CODEC_OUT_OF_MEMORY;
    default:
        return CLIP_CODEC_CORRUPT;
    }
}

static int jpeg_marker_orientation(struct jpeg_decompress_struct *cinfo) {
    static const char xmp_prefix[] = "http://ns.adobe.com/xap/1.0/";  // followed by a NUL
    const size_t xmp_prefix_size = sizeof xmp_prefix;                // includes the NUL
    int exif = 0, have_exif = 0, xmp = 0;
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker != JPEG_APP0 + 1) continue;
        // Pillow keeps the first Exif APP1 and the last XMP APP1.
        if (!have_exif && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            have_exif = 1;
            exif = clip_exif_orientation(m->data, m->data_length);
        } else if (m->data_length >= xmp_prefix_size && memcmp(m->data, xmp_prefix, xmp_prefix_size) == 0) {
            xmp = clip_xmp_orientation(m->data + xmp_prefix_size, m->data_length - xmp_prefix_size);
        }
    }
    return clip_effective_orientation(exif, xmp);
}

clip_codec_status clip_jpeg_open(clip_decoder *d) {
    struct jpeg_decompress_struct *cinfo = &d->jpeg;
    cinfo->err = jpeg_std_error(&d->jpeg_error.pub);
    d->jpeg_error.pub.error_exit = jpeg_error_exit;
    d->jpeg_error.pub.emit_message = jpeg_emit_message;
    d->jpeg_error.pub.output_message = jpeg_output_message;
    cinfo->client_data = d;
    if (setjmp(d->jpeg_error.jump)) return jpeg_failure_status(d);

    d->jpeg_created = 1;  // the struct is zeroed, so destroying a half-created one is safe
    jpeg_create_decompress(cinfo);
    cinfo->client_data = d;  // jpeg_create_decompress clears the struct
    jpeg_mem_src(cinfo, d->data, (unsigned long)d->size);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
    d->jpeg_progress.progress_monitor = jpeg_progress_monitor;
    cinfo->progress = &d->jpeg_progress;
    jpeg_read_header(cinfo, TRUE);

    d->width = cinfo->image_width;
    d->height = cinfo->image_height;
    switch (cinfo->num_components) {
    case 1: cinfo->out_color_space = JCS_GRAYSCALE; break;
    case 3: cinfo->out_color_space = JCS_RGB; break;
    case 4: cinfo->out_color_space = JCS_CMYK; break;  // CMYK or YCCK; libjpeg turns YCCK into CMYK
    default:
        snprintf(d->message, sizeof d->message, "JPEG with %d color components", cinfo->num_components);
        return CLIP_CODEC_UNSUPPORTED;
    }
    // Pillow's decoder settings: integer slow DCT, fancy upsampling, no scaling.
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    d->orientation = jpeg_marker_orientation(cinfo);
    return CLIP_CODEC_OK;
}

uint32_t clip_jpeg_reduce(clip_decoder *d, uint32_t min_short_side) {
    struct jpeg_decompress_struct *cinfo = &d->jpeg;
    const uint32_t short_side = d->width < d->height ? d->width : d->height;
    uint32_t denominator = 8;
    // libjpeg's scaled size is the ceiling of size / denominator.
    while (denominator > 1 && (short_side + denominator - 1) / denominator < min_short_side) denominator /= 2;
    if (denominator == 1) return 1;
    if (setjmp(d->jpeg_error.jump)) {  // not expected after a good header: keep the full size
        cinfo->scale_denom = 1;
        return 1;
    }
    cinfo->scale_num = 1;
    cinfo->scale_denom = denominator;
    jpeg_calc_output_dimensions(cinfo);
    d->width = cinfo->output_width;
    d->height = cinfo->output_height;
    return denominator;
}

clip_codec_status clip_jpeg_decode(clip_decoder *d, uint8_t *out) {
    struct jpeg_decompress_struct *cinfo = &d->jpeg;
    if (setjmp(d->jpeg_error.jump)) return jpeg_failure_status(d);

    jpeg_start_decompress(cinfo);
    const size_t w = cinfo->output_width, h = cinfo->output_height;
    const int components = cinfo->output_components;
    if (w != d->width || h != d->height) {
        clip_set_message(d, "JPEG output size differs from the header");
        return CLIP_CODEC_CORRUPT;
    }
    const int direct = components == 3 && d->orientation == 1;
    if (!direct) {
        // 3 components decode straight into the RGB block; gray and CMYK need a native block too.
        if (components != 3) d->row = malloc(w * (size_t)components * ROW_BLOCK);
        d->rgb_row = malloc(w * 3 * ROW_BLOCK);
        if ((components != 3 && d->row == NULL) || d->rgb_row == NULL) {
            clip_set_message(d, "out of memory for JPEG rows");
            return CLIP_CODEC_OUT_OF_MEMORY;
        }
    }
    JSAMPROW targets[ROW_BLOCK];
    while (cinfo->output_scanline < cinfo->output_height) {
        const size_t sy0 = cinfo->output_scanline;
        const size_t wanted = h - sy0 < ROW_BLOCK ? h - sy0 : ROW_BLOCK;
        for (size_t r = 0; r < wanted; r++) {
            if (direct) targets[r] = out + (sy0 + r) * w * 3;
            else if (components == 3) targets[r] = d->rgb_row + r * w * 3;
            else targets[r] = d->row + r * w * (size_t)components;
        }
        // libjpeg hands out at most one iMCU row per call; fill the whole block.
        size_t got = 0;
        while (got < wanted) {
            const size_t n = jpeg_read_scanlines(cinfo, targets + got, (JDIMENSION)(wanted - got));
            if (n == 0) {
                clip_set_message(d, "JPEG decoder returned no scanline");
                return CLIP_CODEC_CORRUPT;
            }
            got += n;
        }
        if (direct) continue;
        for (size_t r = 0; r < got; r++) {
            const uint8_t *src = targets[r];
            uint8_t *rgb = d->rgb_row + r * w * 3;
            if (components == 1) {
                for (size_t x = 0; x < w; x++) rgb[3 * x] = rgb[3 * x + 1] = rgb[3 * x + 2] = src[x];
            } else if (components == 4) {
                // Pillow reads 4-component JPEGs as "CMYK;I" (Adobe's inverted CMYK, always) and
                // converts CMYK -> RGB with r = (255-k) - (c*(255-k))/255 (Convert.c cmyk2rgb).
                for (size_t x = 0; x < w; x++) {
                    const uint8_t *p = src + 4 * x;
                    const uint32_t nk = p[3];  // inverted storage: raw k byte is 255 - K
                    rgb[3 * x] = (uint8_t)(nk - muldiv255(255u - p[0], nk));
                    rgb[3 * x + 1] = (uint8_t)(nk - muldiv255(255u - p[1], nk));
                    rgb[3 * x + 2] = (uint8_t)(nk - muldiv255(255u - p[2], nk));
                }
            }  // 3 components: already RGB in place
        }
        clip_place_rows(out, w, h, d->orientation, sy0, got, d->rgb_row);
    }
    jpeg_finish_decompress(cinfo);
    return CLIP_CODEC_OK;
}
