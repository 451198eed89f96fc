// What a photo says about itself, read straight from the container without decoding (JPEG segment
// headers up to the first scan, PNG chunk headers): when it was taken (EXIF DateTimeOriginal +
// OffsetTimeOriginal), and where its XMP packet is (keywords). Every offset is checked against the
// buffer before it is read (fuzzed in Fuzz/FuzzImageDecoder).
#include "decoder_internal.h"

#include <string.h>

enum { TAG_EXIF_IFD = 0x8769, TAG_DATETIME_ORIGINAL = 0x9003, TAG_OFFSET_TIME_ORIGINAL = 0x9011, TYPE_ASCII = 2 };

/// The 12-byte entry of `tag` in the IFD at `ifd`, or SIZE_MAX.
static size_t find_entry(const uint8_t *tiff, size_t size, uint32_t ifd, int big, uint32_t tag) {
    if (ifd > size || size - ifd < 2) return SIZE_MAX;
    uint32_t count = clip_read_u16(tiff + ifd, big);
    for (uint32_t i = 0; i < count; i++) {
        size_t entry = (size_t)ifd + 2 + (size_t)i * 12;
        if (entry + 12 > size) return SIZE_MAX;
        if (clip_read_u16(tiff + entry, big) == tag) return entry;
    }
    return SIZE_MAX;
}

/// An ASCII value of `length` bytes (≤ 4 inline, else at its offset); NULL when it does not fit.
static const uint8_t *ascii_value(const uint8_t *tiff, size_t size, size_t entry, int big, uint32_t *length) {
    if (clip_read_u16(tiff + entry + 2, big) != TYPE_ASCII) return NULL;
    uint32_t n = clip_read_u32(tiff + entry + 4, big);
    if (n <= 4) { *length = n; return tiff + entry + 8; }
    uint32_t offset = clip_read_u32(tiff + entry + 8, big);
    if (offset > size || size - offset < n) return NULL;
    *length = n;
    return tiff + offset;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/// "YYYY:MM:DD HH:MM:SS": digits and separators where they belong (values are checked in Swift).
static int looks_like_datetime(const uint8_t *v, uint32_t n) {
    static const char shape[] = "dddd:dd:dd dd:dd:dd";
    if (n < 19) return 0;
    for (int i = 0; i < 19; i++) {
        if (shape[i] == 'd' ? !is_digit(v[i]) : v[i] != (uint8_t)shape[i]) return 0;
    }
    return 1;
}

/// "+HH:MM" or "-HH:MM".
static int looks_like_offset(const uint8_t *v, uint32_t n) {
    return n >= 6 && (v[0] == '+' || v[0] == '-') && is_digit(v[1]) && is_digit(v[2]) && v[3] == ':' &&
           is_digit(v[4]) && is_digit(v[5]);
}

size_t clip_exif_datetime(const uint8_t *data, size_t size, char *out, size_t out_size) {
    if (data == NULL || out == NULL || out_size < 32) return 0;
    out[0] = 0;
    int big;
    uint32_t ifd0;
    if (!clip_tiff_header(&data, &size, &big, &ifd0)) return 0;
    size_t pointer = find_entry(data, size, ifd0, big, TAG_EXIF_IFD);
    if (pointer == SIZE_MAX) return 0;
    uint32_t exif_ifd = clip_read_u32(data + pointer + 8, big);
    size_t entry = find_entry(data, size, exif_ifd, big, TAG_DATETIME_ORIGINAL);
    if (entry == SIZE_MAX) return 0;
    uint32_t n = 0;
    const uint8_t *value = ascii_value(data, size, entry, big, &n);
    if (value == NULL || !looks_like_datetime(value, n)) return 0;
    memcpy(out, value, 19);
    size_t length = 19;
    size_t offset_entry = find_entry(data, size, exif_ifd, big, TAG_OFFSET_TIME_ORIGINAL);
    if (offset_entry != SIZE_MAX) {
        const uint8_t *offset = ascii_value(data, size, offset_entry, big, &n);
        if (offset != NULL && looks_like_offset(offset, n)) {
            memcpy(out + length, offset, 6);
            length += 6;
        }
    }
    out[length] = 0;
    return length;
}

/// JPEG: markers from SOI to the first SOS; the first APP1 whose payload starts with `prefix`.
/// Sets the payload's offset and length (prefix included) and returns 1.
static int jpeg_app1(const uint8_t *data, size_t size, const char *prefix, size_t prefix_size,
                     size_t *offset, size_t *length) {
    size_t at = 2;
    while (at + 4 <= size) {
        if (data[at] != 0xFF) return 0;
        uint8_t marker = data[at + 1];
        if (marker == 0xFF) { at += 1; continue; }   // fill byte
        if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { at += 2; continue; }
        if (marker == 0xDA || marker == 0xD9) return 0;   // start of scan / end of image: none before
        size_t segment = (size_t)data[at + 2] << 8 | data[at + 3];
        if (segment < 2 || segment > size - at - 2) return 0;
        if (marker == 0xE1 && segment - 2 >= prefix_size && memcmp(data + at + 4, prefix, prefix_size) == 0) {
            *offset = at + 4;
            *length = segment - 2;
            return 1;
        }
        at += 2 + segment;
    }
    return 0;
}

/// PNG: chunk headers after the signature; the first chunk of `type` whose data starts with
/// `prefix` (may be empty). Sets the data's offset and length and returns 1.
static int png_chunk(const uint8_t *data, size_t size, const char *type, const char *prefix, size_t prefix_size,
                     size_t *offset, size_t *length) {
    size_t at = 8;
    while (at + 12 <= size) {
        size_t chunk = clip_read_u32(data + at, 1);
        if (chunk > size - at - 12) return 0;
        if (memcmp(data + at + 4, type, 4) == 0 && chunk >= prefix_size && memcmp(data + at + 8, prefix, prefix_size) == 0) {
            *offset = at + 8;
            *length = chunk;
            return 1;
        }
        if (memcmp(data + at + 4, "IEND", 4) == 0) return 0;
        at += 12 + chunk;
    }
    return 0;
}

size_t clip_photo_datetime(const uint8_t *data, size_t size, char *out, size_t out_size) {
    if (data == NULL || out == NULL || out_size < 32) return 0;
    out[0] = 0;
    size_t offset = 0, length = 0;
    switch (clip_sniff_format(data, size)) {
    case CLIP_FORMAT_JPEG:
        if (!jpeg_app1(data, size, "Exif\0\0", 6, &offset, &length)) return 0;
        break;
    case CLIP_FORMAT_PNG:   // eXIf holds a TIFF header, no "Exif" prefix
        if (!png_chunk(data, size, "eXIf", "", 0, &offset, &length)) return 0;
        break;
    default:
        return 0;
    }
    return clip_exif_datetime(data + offset, length, out, out_size);
}

int clip_photo_xmp(const uint8_t *data, size_t size, size_t *offset, size_t *length) {
    static const char jpeg_prefix[] = "http://ns.adobe.com/xap/1.0/";   // then a NUL
    static const char png_keyword[] = "XML:com.adobe.xmp";              // then NUL, flag, method, 2 strings
    if (data == NULL || offset == NULL || length == NULL) return 0;
    size_t at = 0, n = 0;
    switch (clip_sniff_format(data, size)) {
    case CLIP_FORMAT_JPEG:
        if (!jpeg_app1(data, size, jpeg_prefix, sizeof jpeg_prefix, &at, &n)) return 0;
        *offset = at + sizeof jpeg_prefix;
        *length = n - sizeof jpeg_prefix;
        return 1;
    case CLIP_FORMAT_PNG: {
        if (!png_chunk(data, size, "iTXt", png_keyword, sizeof png_keyword, &at, &n)) return 0;
        size_t i = sizeof png_keyword;   // past the keyword's NUL
        if (n - i < 2 || data[at + i] != 0) return 0;   // compressed XMP is not read
        i += 2;
        for (int field = 0; field < 2; field++) {    // language tag, translated keyword
            while (i < n && data[at + i] != 0) i++;
            if (i == n) return 0;
            i++;
        }
        *offset = at + i;
        *length = n - i;
        return 1;
    }
    default:
        return 0;
    }
}
