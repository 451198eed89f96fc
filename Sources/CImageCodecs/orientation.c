// EXIF / XMP orientation, as Pillow reads it (shared by the JPEG and PNG decoders).
#include "decoder_internal.h"

#include <string.h>

// MARK: - EXIF / XMP orientation (what Pillow's Image.getexif() reports for tag 0x0112)

int clip_tiff_header(const uint8_t **data, size_t *size, int *big, uint32_t *ifd0) {
    if (*data == NULL) return 0;
    if (*size >= 6 && memcmp(*data, "Exif\0\0", 6) == 0) { *data += 6; *size -= 6; }
    if (*size < 8) return 0;
    const uint8_t *p = *data;
    if (p[0] == 'M' && p[1] == 'M') *big = 1;
    else if (p[0] == 'I' && p[1] == 'I') *big = 0;
    else return 0;
    if (clip_read_u16(p + 2, *big) != 42) return 0;
    *ifd0 = clip_read_u32(p + 4, *big);
    return 1;
}

int clip_exif_orientation(const uint8_t *data, size_t size) {
    int big;
    uint32_t ifd;
    if (!clip_tiff_header(&data, &size, &big, &ifd)) return 0;
    if (ifd > size - 2) return 0;
    uint32_t count = clip_read_u16(data + ifd, big);
    for (uint32_t i = 0; i < count; i++) {
        size_t entry = (size_t)ifd + 2 + (size_t)i * 12;
        if (entry + 12 > size) break;
        if (clip_read_u16(data + entry, big) != 0x0112) continue;
        uint32_t type = clip_read_u16(data + entry + 2, big);
        uint32_t n = clip_read_u32(data + entry + 4, big);
        if (n != 1) return 0;  // Pillow returns a tuple, which maps to no transpose
        switch (type) {
        case 1: case 6: case 7: return data[entry + 8];       // BYTE, SBYTE, UNDEFINED
        case 3: case 8: return (int)clip_read_u16(data + entry + 8, big);  // SHORT, SSHORT
        case 4: case 9: {                                     // LONG, SLONG
            uint32_t v = clip_read_u32(data + entry + 8, big);
            return v <= 8 ? (int)v : 0;
        }
        default: return 0;
        }
    }
    return 0;
}

// Pillow's fallback when EXIF has no Orientation: re.search(rb'tiff:Orientation(="|>)([0-9])', xmp).
int clip_xmp_orientation(const uint8_t *data, size_t size) {
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
int clip_effective_orientation(int exif, int xmp) {
    int o = exif != 0 ? exif : xmp;
    return (o >= 2 && o <= 8) ? o : 1;
}
