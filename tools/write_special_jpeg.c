// Writes JPEG variants Pillow cannot produce, for tools/make_decoder_fixtures.py (which compiles
// and runs it: cc tools/write_special_jpeg.c -ljpeg -o write_special_jpeg).
//   write_special_jpeg ycck  W H < cmyk-bytes > out.jpg   (Adobe YCCK, inverted CMYK as Photoshop writes)
//   write_special_jpeg arith W H < rgb-bytes  > out.jpg   (arithmetic-coded YCbCr 4:2:0)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s ycck|arith WIDTH HEIGHT < raw > out.jpg\n", argv[0]);
        return 2;
    }
    const int ycck = strcmp(argv[1], "ycck") == 0;
    const int width = atoi(argv[2]), height = atoi(argv[3]);
    const int components = ycck ? 4 : 3;
    const size_t size = (size_t)width * height * components;
    unsigned char *pixels = malloc(size);
    if (pixels == NULL || fread(pixels, 1, size, stdin) != size) {
        fprintf(stderr, "expected %zu bytes on stdin\n", size);
        return 1;
    }

    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, stdout);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = components;
    cinfo.in_color_space = ycck ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 90, TRUE);
    if (ycck) {
        jpeg_set_colorspace(&cinfo, JCS_YCCK);  // libjpeg writes the Adobe marker with transform 2
    } else {
        cinfo.arith_code = TRUE;
    }
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = pixels + (size_t)cinfo.next_scanline * width * components;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(pixels);
    return 0;
}
