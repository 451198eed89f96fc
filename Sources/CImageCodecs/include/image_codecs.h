#ifndef CLIP_IMAGE_CODECS_H
#define CLIP_IMAGE_CODECS_H
// JPEG/PNG decoding behind setjmp: libjpeg and libpng report fatal errors by longjmp, which must
// never unwind through Swift frames, so every call into them happens inside these C functions and
// errors come back as a status code plus a message.
//
// Two phases, so the caller can check the pixel count before anything large is allocated:
//   clip_decoder_open   parses the header (no pixel buffers yet)  -> stored width/height
//   clip_decoder_decode decodes into a caller-owned buffer of width*height*3 bytes, as upright
//                       8-bit RGB (EXIF orientation applied, alpha composited onto white the way
//                       Hugging Face's convert_to_rgb does with PIL)
//   clip_decoder_free   releases every libjpeg/libpng structure, on every path.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CLIP_CODEC_OK = 0,
    CLIP_CODEC_NOT_IMAGE = 1,     // neither JPEG nor PNG magic bytes
    CLIP_CODEC_UNSUPPORTED = 2,   // known container, variant we cannot decode (e.g. 12-bit JPEG)
    CLIP_CODEC_CORRUPT = 3,       // the codec rejected the data
    CLIP_CODEC_TRUNCATED = 4,     // the data ends before the image does
    CLIP_CODEC_OUT_OF_MEMORY = 5,
    CLIP_CODEC_BAD_ARGUMENT = 6,  // caller error: wrong buffer size or call order
} clip_codec_status;

typedef enum {
    CLIP_FORMAT_UNKNOWN = 0,
    CLIP_FORMAT_JPEG = 1,
    CLIP_FORMAT_PNG = 2,
} clip_image_format;

typedef struct clip_decoder clip_decoder;

/// The format announced by the first bytes (JPEG: FF D8 FF, PNG: the 8-byte signature).
clip_image_format clip_sniff_format(const uint8_t *data, size_t size);

/// Phase 1. `data` must stay valid until clip_decoder_free. On return `*out` is set whenever memory
/// allowed (even on error, so the message can be read); always pass it to clip_decoder_free.
clip_codec_status clip_decoder_open(const uint8_t *data, size_t size, clip_decoder **out);

clip_image_format clip_decoder_format(const clip_decoder *decoder);
/// Dimensions as stored in the file, before orientation.
uint32_t clip_decoder_stored_width(const clip_decoder *decoder);
uint32_t clip_decoder_stored_height(const clip_decoder *decoder);

/// Optional, between the phases (`--fast-decode`): a JPEG is decoded scaled down in the DCT domain
/// by the largest of 1/2, 1/4, 1/8 that keeps its short side at least `min_short_side` (as Pillow's
/// `draft()`), so stored_width/height become the reduced size. Returns the denominator chosen (1:
/// not reduced, always for PNG). Pixels are then no longer exact to a full decode + resize.
uint32_t clip_decoder_reduce(clip_decoder *decoder, uint32_t min_short_side);

/// Phase 2. `rgb` holds exactly stored_width*stored_height*3 bytes. On success `*out_width` and
/// `*out_height` are the upright dimensions (swapped for orientations 5...8).
clip_codec_status clip_decoder_decode(clip_decoder *decoder, uint8_t *rgb, size_t rgb_size,
                                      uint32_t *out_width, uint32_t *out_height);

/// The EXIF orientation (1...8) applied by the last successful decode; 1 when absent.
int clip_decoder_orientation(const clip_decoder *decoder);

/// The codec's message for the last error ("" if none). Owned by the decoder.
const char *clip_decoder_message(const clip_decoder *decoder);

void clip_decoder_free(clip_decoder *decoder);

/// Exposed for tests: orientation from an EXIF payload (TIFF header first, "Exif\0\0" prefix
/// allowed); 0 when there is no usable Orientation tag.
int clip_exif_orientation(const uint8_t *data, size_t size);

/// When the photo was taken: EXIF DateTimeOriginal (tag 0x9003 of the Exif IFD), with
/// OffsetTimeOriginal (0x9011) appended when present, from a JPEG's APP1 "Exif" segment or a PNG's
/// eXIf chunk, found by walking segment/chunk headers only (no decoding). Writes a NUL-terminated
/// "YYYY:MM:DD HH:MM:SS" or "YYYY:MM:DD HH:MM:SS+HH:MM" into `out` (at least 32 bytes) and returns
/// its length; 0 when absent or malformed. Only the shape is checked here; the caller parses it.
size_t clip_photo_datetime(const uint8_t *data, size_t size, char *out, size_t out_size);

/// Where the XMP packet is: a JPEG's APP1 "http://ns.adobe.com/xap/1.0/" segment or a PNG's
/// uncompressed iTXt "XML:com.adobe.xmp" chunk, found by walking headers only. Sets `*offset` and
/// `*length` (the packet's bytes inside `data`) and returns 1; 0 when there is none.
int clip_photo_xmp(const uint8_t *data, size_t size, size_t *offset, size_t *length);

/// Exposed for tests: the same from an EXIF payload (TIFF header first, "Exif\0\0" prefix allowed).
size_t clip_exif_datetime(const uint8_t *data, size_t size, char *out, size_t out_size);

#ifdef __cplusplus
}
#endif

#endif
