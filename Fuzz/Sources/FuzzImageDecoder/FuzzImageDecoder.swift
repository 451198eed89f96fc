import CLIP
import FuzzDriver

/// Any bytes through the EXIF date reader and the decoder (sniffing, libjpeg/libpng behind setjmp,
/// EXIF/XMP orientation), then what the server does with a decoded image: the model's crop and a thumbnail.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzImageDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = PhotoDate.taken(in: bytes)
    _ = PhotoKeywords.keywords(in: bytes)
    // A smaller pixel limit than the server's keeps each run fast; the limit check itself is covered.
    guard let image = try? ImageDecoder.decode(bytes, maxPixels: 4_000_000) else { return 0 }
    precondition(image.pixels.count == image.width * image.height * 3, "decoded buffer has the wrong size")
    let crop = ImagePreprocessor(imageSize: 32).crop(image)
    precondition(crop.width == 32 && crop.height == 32)
    _ = try? Thumbnailer.jpeg(from: image, longSide: 64)
    return 0
}

/// The entry point SwiftPM links as `main` (`<Module>_main`): libFuzzer's driver with the callback.
@_cdecl("FuzzImageDecoder_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzImageDecoder(data, size) }
}
