import Foundation

/// The dates the API reads and writes (`after`, `before`, `taken_at`): ISO 8601, a date
/// ("2024-05-01", midnight UTC) or a date-time ("2024-05-01T12:30:00Z", "...+02:00", fractional
/// seconds allowed; without a zone it is taken as UTC, as EXIF times without an offset are).
enum APIDate {
    static func string(_ date: Date) -> String { date.ISO8601Format() }

    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 10, bytes.count <= 40 else { return nil }
        var at = 0
        func digits(_ count: Int) -> Int? {
            guard at + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[at..<(at + count)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            at += count
            return value
        }
        func skip(_ character: Character) -> Bool {
            guard at < bytes.count, bytes[at] == character.asciiValue else { return false }
            at += 1
            return true
        }
        guard let year = digits(4), skip("-"), let month = digits(2), skip("-"), let day = digits(2),
              (0...9999).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        var (hour, minute, second, fraction, offset) = (0, 0, 0, 0.0, 0)
        if at < bytes.count {
            guard skip("T") || skip("t") || skip(" "), let h = digits(2), skip(":"), let m = digits(2),
                  h < 24, m < 60 else { return nil }
            (hour, minute) = (h, m)
            if skip(":") {
                guard let s = digits(2), s < 60 else { return nil }
                second = s
                if skip(".") {
                    let start = at
                    while at < bytes.count, (48...57).contains(bytes[at]) { at += 1 }
                    guard at > start, let value = Double("0." + String(decoding: bytes[start..<at], as: UTF8.self)) else { return nil }
                    fraction = value
                }
            }
            if skip("Z") || skip("z") {
            } else if at < bytes.count {
                let sign = bytes[at] == UInt8(ascii: "-") ? -1 : 1
                guard skip("+") || skip("-"), let oh = digits(2), skip(":"), let om = digits(2), oh < 24, om < 60 else { return nil }
                offset = sign * (oh * 3600 + om * 60)
            }
            guard at == bytes.count else { return nil }
        }
        // The wall-clock time in UTC, then the offset (RFC 3339 allows any up to ±23:59).
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == day else { return nil }
        return date.addingTimeInterval(fraction - Double(offset))
    }
}
