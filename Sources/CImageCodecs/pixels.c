// Pixel placement shared by the JPEG and PNG decoders (the inline helpers are in decoder_internal.h).
#include "decoder_internal.h"

#include <string.h>

// MARK: - Pixel helpers

// Places stored rows sy0 ..< sy0+n (RGB, `w` pixels each, consecutive in `rows`) into the upright
// output, as PIL's exif_transpose does: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM,
// 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90. Output is w x h for 1...4, h x w for 5...8.
void clip_place_rows(uint8_t *out, size_t w, size_t h, int orientation, size_t sy0, size_t n,
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

void clip_upright_size(const clip_decoder *d, uint32_t *out_width, uint32_t *out_height) {
    int swap = d->orientation >= 5;
    if (out_width) *out_width = swap ? d->height : d->width;
    if (out_height) *out_height = swap ? d->width : d->height;
}
