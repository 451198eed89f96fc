import CImageCodecs
import Foundation

/// When a photo was taken, from its EXIF DateTimeOriginal, read from the JPEG/PNG container without
/// decoding. EXIF stores the camera's wall-clock time; with OffsetTimeOriginal it is converted to
/// UTC, without it the wall-clock time is taken as UTC (so a date filter matches the date the camera
/// showed). Absent, malformed or impossible values ("0000:00:00 00:00:00", Feb 30) give nil.
public enum PhotoDate {
    public static func taken(in bytes: [UInt8]) -> Date? {
        var text = [CChar](repeating: 0, count: 32)
        let length = bytes.withUnsafeBufferPointer { data in
            text.withUnsafeMutableBufferPointer { out in
                clip_photo_datetime(data.baseAddress, data.count, out.baseAddress, out.count)
            }
        }
        guard length > 0 else { return nil }
        return parse(String(decoding: text.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// "YYYY:MM:DD HH:MM:SS" with an optional "+HH:MM"/"-HH:MM".
    static func parse(_ text: String) -> Date? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 19 || utf8.count == 25 else { return nil }
        for (i, separator) in [(4, ":"), (7, ":"), (10, " "), (13, ":"), (16, ":"), (22, ":")] where i < utf8.count {
            guard utf8[i] == UInt8(ascii: Unicode.Scalar(separator)!) else { return nil }
        }
        if utf8.count == 25, utf8[19] != UInt8(ascii: "+"), utf8[19] != UInt8(ascii: "-") { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in utf8[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1800...2200).contains(year), (1...12).contains(month), (1...31).contains(day),
              hour < 24, minute < 60, second < 60 else { return nil }
        var offsetSeconds = 0
        if utf8.count == 25 {
            guard let offsetHours = number(20..<22), let offsetMinutes = number(23..<25),
                  offsetHours <= 14, offsetMinutes < 60 else { return nil }
            offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60) * (utf8[19] == UInt8(ascii: "-") ? -1 : 1)
        }
        var calendar = Calendar(identifier: .gregorian)
        guard let zone = TimeZone(secondsFromGMT: offsetSeconds) else { return nil }
        calendar.timeZone = zone
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let date = calendar.date(from: components),
              calendar.component(.day, from: date) == day else { return nil }   // Feb 30 rolls over: refused
        return date
    }
}
