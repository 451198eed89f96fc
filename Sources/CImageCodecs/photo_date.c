// When a photo was taken, from its EXIF (DateTimeOriginal + OffsetTimeOriginal), read straight from
// the container without decoding: JPEG segment headers up to the first scan, PNG chunk headers.
// Every offset is checked against the buffer before it is read (fuzzed in Fuzz/FuzzImageDecoder).
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
    if (size >= 6 && memcmp(data, "Exif\0\0", 6) == 0) { data += 6; size -= 6; }
    if (size < 8) return 0;
    int big;
    if (data[0] == 'M' && data[1] == 'M') big = 1;
    else if (data[0] == 'I' && data[1] == 'I') big = 0;
    else return 0;
    if (clip_read_u16(data + 2, big) != 42) return 0;
    size_t pointer = find_entry(data, size, clip_read_u32(data + 4, big), big, TAG_EXIF_IFD);
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

/// JPEG: markers from SOI to the first SOS; the first APP1 that starts with "Exif\0\0".
static size_t jpeg_datetime(const uint8_t *data, size_t size, char *out, size_t out_size) {
    size_t at = 2;
    while (at + 4 <= size) {
        if (data[at] != 0xFF) return 0;
        uint8_t marker = data[at + 1];
        if (marker == 0xFF) { at += 1; continue; }   // fill byte
        if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { at += 2; continue; }
        if (marker == 0xDA || marker == 0xD9) return 0;   // start of scan / end of image: no EXIF before
        size_t length = (size_t)data[at + 2] << 8 | data[at + 3];
        if (length < 2 || length > size - at - 2) return 0;
        if (marker == 0xE1 && length >= 8 && memcmp(data + at + 4, "Exif\0\0", 6) == 0)
            return clip_exif_datetime(data + at + 4, length - 2, out, out_size);
        at += 2 + length;
    }
    return 0;
}

/// PNG: chunk headers after the signature; the eXIf chunk (a TIFF header, no "Exif" prefix).
static size_t png_datetime(const uint8_t *data, size_t size, char *out, size_t out_size) {
    size_t at = 8;
    while (at + 12 <= size) {
        size_t length = clip_read_u32(data + at, 1);
        if (length > size - at - 12) return 0;
        if (memcmp(data + at + 4, "eXIf", 4) == 0) return clip_exif_datetime(data + at + 8, length, out, out_size);
        if (memcmp(data + at + 4, "IEND", 4) == 0) return 0;
        at += 12 + length;
    }
    return 0;
}

size_t clip_photo_datetime(const uint8_t *data, size_t size, char *out, size_t out_size) {
    if (data == NULL || out == NULL || out_size < 32) return 0;
    out[0] = 0;
    switch (clip_sniff_format(data, size)) {
    case CLIP_FORMAT_JPEG: return jpeg_datetime(data, size, out, out_size);
    case CLIP_FORMAT_PNG: return png_datetime(data, size, out, out_size);
    default: return 0;
    }
}
