// JPEG (libjpeg-turbo) and PNG (libpng 1.6) decoding to upright 8-bit RGB.
// Pixel semantics follow what the reference pipeline sees: Hugging Face `convert_to_rgb` on
// `PIL.ImageOps.exif_transpose(Image.open(...))` with Pillow 13 (see tools/make_decoder_fixtures.py).
// Every libjpeg/libpng call sits behind a setjmp in this file; all state lives in the heap-allocated
// decoder so nothing needs `volatile` across a longjmp, and clip_decoder_free releases it all.
#include "image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
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

static void set_message(clip_decoder *d, const char *text) {
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

// MARK: - EXIF / XMP orientation (what Pillow's Image.getexif() reports for tag 0x0112)

static uint32_t read_u16(const uint8_t *p, int big) {
    return big ? ((uint32_t)p[0] << 8 | p[1]) : ((uint32_t)p[1] << 8 | p[0]);
}

static uint32_t read_u32(const uint8_t *p, int big) {
    return big ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
               : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

int clip_exif_orientation(const uint8_t *data, size_t size) {
    if (data == NULL) return 0;
    if (size >= 6 && memcmp(data, "Exif\0\0", 6) == 0) { data += 6; size -= 6; }
    if (size < 8) return 0;
    int big;
    if (data[0] == 'M' && data[1] == 'M') big = 1;
    else if (data[0] == 'I' && data[1] == 'I') big = 0;
    else return 0;
    if (read_u16(data + 2, big) != 42) return 0;
    uint32_t ifd = read_u32(data + 4, big);
    if (ifd > size - 2) return 0;
    uint32_t count = read_u16(data + ifd, big);
    for (uint32_t i = 0; i < count; i++) {
        size_t entry = (size_t)ifd + 2 + (size_t)i * 12;
        if (entry + 12 > size) break;
        if (read_u16(data + entry, big) != 0x0112) continue;
        uint32_t type = read_u16(data + entry + 2, big);
        uint32_t n = read_u32(data + entry + 4, big);
        if (n != 1) return 0;  // Pillow returns a tuple, which maps to no transpose
        switch (type) {
        case 1: case 6: case 7: return data[entry + 8];       // BYTE, SBYTE, UNDEFINED
        case 3: case 8: return (int)read_u16(data + entry + 8, big);  // SHORT, SSHORT
        case 4: case 9: {                                     // LONG, SLONG
            uint32_t v = read_u32(data + entry + 8, big);
            return v <= 8 ? (int)v : 0;
        }
        default: return 0;
        }
    }
    return 0;
}

// Pillow's fallback when EXIF has no Orientation: re.search(rb'tiff:Orientation(="|>)([0-9])', xmp).
static int xmp_orientation(const uint8_t *data, size_t size) {
    static const char key[] = "tiff:Orientation";
    const size_t key_len = sizeof key - 1;
    if (data == NULL) return 0;
    for (size_t i = 0; i + key_len < size; i++) {
        if (memcmp(data + i, key, key_len) != 0) continue;
        size_t j = i + key_len;
        if (j + 2 < size && data[j] == '=' && data[j + 1] == '"' && data[j + 2] >= '0' && data[j + 2] <= '9')
            return data[j + 2] - '0';
        if (j + 1 < size && data[j] == '>' && data[j + 1] >= '0' && data[j + 1] <= '9')
            return data[j + 1] - '0';
    }
    return 0;
}

// Pillow: orientation 2...8 transposes, anything else (absent, 0, 1, 9, ...) leaves the image as is.
static int effective_orientation(int exif, int xmp) {
    int o = exif != 0 ? exif : xmp;
    return (o >= 2 && o <= 8) ? o : 1;
}

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

// Places stored rows sy0 ..< sy0+n (RGB, `w` pixels each, consecutive in `rows`) into the upright
// output, as PIL's exif_transpose does: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM,
// 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90. Output is w x h for 1...4, h x w for 5...8.
static void place_rows(uint8_t *out, size_t w, size_t h, int orientation, size_t sy0, size_t n,
                       const uint8_t *rows) {
    const size_t stride = w * 3;
    if (orientation <= 4) {
        for (size_t r = 0; r < n; r++) {
            const size_t sy = sy0 + r;
            const uint8_t *row = rows + r * stride;
            const size_t oy = (orientation == 3 || orientation == 4) ? h - 1 - sy : sy;
            uint8_t *dst = out + oy * stride;
            if (orientation == 1 || orientation == 4) {
                memcpy(dst, row, stride);
            } else {
                for (size_t x = 0; x < w; x++) {
                    uint8_t *p = dst + (w - 1 - x) * 3;
                    p[0] = row[3 * x];
                    p[1] = row[3 * x + 1];
                    p[2] = row[3 * x + 2];
                }
            }
        }
        return;
    }
    // 5...8: stored column sx becomes output row (sx or w-1-sx); stored row sy becomes output
    // column (sy or h-1-sy), so the n rows of this block land next to each other.
    const int flip_rows = orientation == 7 || orientation == 8;    // output row w-1-sx
    const int flip_cols = orientation == 6 || orientation == 7;    // output column h-1-sy
    const ptrdiff_t step = flip_cols ? -3 : 3;
    for (size_t sx = 0; sx < w; sx++) {
        const size_t oy = flip_rows ? w - 1 - sx : sx;
        uint8_t *p = out + (oy * h + (flip_cols ? h - 1 - sy0 : sy0)) * 3;
        const uint8_t *q = rows + sx * 3;
        for (size_t r = 0; r < n; r++, p += step, q += stride) {
            p[0] = q[0];
            p[1] = q[1];
            p[2] = q[2];
        }
    }
}

static void upright_size(const clip_decoder *d, uint32_t *out_width, uint32_t *out_height) {
    int swap = d->orientation >= 5;
    if (out_width) *out_width = swap ? d->height : d->width;
    if (out_height) *out_height = swap ? d->width : d->height;
}

// MARK: - JPEG

static void jpeg_error_exit(j_common_ptr cinfo) {
    clip_decoder *d = (clip_decoder *)cinfo->client_data;
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    set_message(d, text);
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
        set_message(d, "truncated: premature end of JPEG data");
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
            xmp = xmp_orientation(m->data + xmp_prefix_size, m->data_length - xmp_prefix_size);
        }
    }
    return effective_orientation(exif, xmp);
}

static clip_codec_status jpeg_open(clip_decoder *d) {
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

static clip_codec_status jpeg_decode(clip_decoder *d, uint8_t *out) {
    struct jpeg_decompress_struct *cinfo = &d->jpeg;
    if (setjmp(d->jpeg_error.jump)) return jpeg_failure_status(d);

    jpeg_start_decompress(cinfo);
    const size_t w = cinfo->output_width, h = cinfo->output_height;
    const int components = cinfo->output_components;
    if (w != d->width || h != d->height) {
        set_message(d, "JPEG output size differs from the header");
        return CLIP_CODEC_CORRUPT;
    }
    const int direct = components == 3 && d->orientation == 1;
    if (!direct) {
        // 3 components decode straight into the RGB block; gray and CMYK need a native block too.
        if (components != 3) d->row = malloc(w * (size_t)components * ROW_BLOCK);
        d->rgb_row = malloc(w * 3 * ROW_BLOCK);
        if ((components != 3 && d->row == NULL) || d->rgb_row == NULL) {
            set_message(d, "out of memory for JPEG rows");
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
                set_message(d, "JPEG decoder returned no scanline");
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
        place_rows(out, w, h, d->orientation, sy0, got, d->rgb_row);
    }
    jpeg_finish_decompress(cinfo);
    return CLIP_CODEC_OK;
}

// MARK: - PNG

static void png_error_handler(png_structp png, png_const_charp text) {
    clip_decoder *d = (clip_decoder *)png_get_error_ptr(png);
    if (!d->truncated) set_message(d, text);
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
        set_message(d, "truncated: premature end of PNG data");
        png_error(png, "truncated");
    }
    memcpy(target, d->data + d->png_offset, length);
    d->png_offset += length;
}

static clip_codec_status png_failure_status(clip_decoder *d) {
    return d->truncated ? CLIP_CODEC_TRUNCATED : CLIP_CODEC_CORRUPT;
}

static clip_codec_status png_open(clip_decoder *d) {
    d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, png_error_handler, png_warning_handler);
    if (d->png == NULL) {
        set_message(d, "out of memory creating the PNG reader");
        return CLIP_CODEC_OUT_OF_MEMORY;
    }
    d->png_info = png_create_info_struct(d->png);
    if (d->png_info == NULL) {
        set_message(d, "out of memory creating the PNG info");
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
            xmp = xmp_orientation((const uint8_t *)text[i].text, n);
        }
    }
    return effective_orientation(exif, xmp);
}

// Rows were written in stored order; apply the orientation found in eXIf/XMP (rare for PNG).
static clip_codec_status png_reorient(clip_decoder *d, uint8_t *out) {
    const size_t w = d->width, h = d->height;
    d->orientation = png_metadata_orientation(d);
    if (d->orientation == 1) return CLIP_CODEC_OK;
    free(d->image);
    d->image = malloc(w * h * 3);
    if (d->image == NULL) {
        set_message(d, "out of memory reorienting a PNG");
        return CLIP_CODEC_OUT_OF_MEMORY;
    }
    memcpy(d->image, out, w * h * 3);
    for (size_t y = 0; y < h; y += ROW_BLOCK) {
        const size_t n = h - y < ROW_BLOCK ? h - y : ROW_BLOCK;
        place_rows(out, w, h, d->orientation, y, n, d->image + y * w * 3);
    }
    return CLIP_CODEC_OK;
}

static clip_codec_status png_decode(clip_decoder *d, uint8_t *out) {
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
            set_message(d, "out of memory for an interlaced PNG");
            return CLIP_CODEC_OUT_OF_MEMORY;
        }
        for (size_t y = 0; y < h; y++) d->row_pointers[y] = d->image + y * rowbytes;
        png_read_image(png, d->row_pointers);
        for (size_t y = 0; y < h; y++) png_convert_row(d, channels, depth, d->row_pointers[y], out + y * w * 3, w);
    } else {
        d->row = malloc(rowbytes);
        if (d->row == NULL) {
            set_message(d, "out of memory for a PNG row");
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
    case CLIP_FORMAT_JPEG: return jpeg_open(d);
    case CLIP_FORMAT_PNG: return png_open(d);
    default:
        set_message(d, "neither JPEG nor PNG magic bytes");
        return CLIP_CODEC_NOT_IMAGE;
    }
}

clip_image_format clip_decoder_format(const clip_decoder *d) { return d ? d->format : CLIP_FORMAT_UNKNOWN; }
uint32_t clip_decoder_stored_width(const clip_decoder *d) { return d ? d->width : 0; }
uint32_t clip_decoder_stored_height(const clip_decoder *d) { return d ? d->height : 0; }
int clip_decoder_orientation(const clip_decoder *d) { return d ? d->orientation : 1; }
const char *clip_decoder_message(const clip_decoder *d) { return d ? d->message : "no decoder"; }

clip_codec_status clip_decoder_decode(clip_decoder *d, uint8_t *rgb, size_t rgb_size,
                                      uint32_t *out_width, uint32_t *out_height) {
    if (d == NULL || rgb == NULL || d->width == 0 || d->height == 0 ||
        rgb_size != (size_t)d->width * d->height * 3) {
        if (d) set_message(d, "output buffer does not match the image size");
        return CLIP_CODEC_BAD_ARGUMENT;
    }
    clip_codec_status status;
    switch (d->format) {
    case CLIP_FORMAT_JPEG: status = jpeg_decode(d, rgb); break;
    case CLIP_FORMAT_PNG: status = png_decode(d, rgb); break;
    default: set_message(d, "decoder was not opened"); return CLIP_CODEC_BAD_ARGUMENT;
    }
    if (status == CLIP_CODEC_OK) upright_size(d, out_width, out_height);
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
