import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// RFC 3339 times in UTC, `2026-05-01T12:00:00Z` or with milliseconds `2026-05-01T12:00:00.250Z`,
/// written and read with plain arithmetic.
///
/// The same text as Foundation's `.iso8601` and `Date.ISO8601FormatStyle`, but those build a
/// Gregorian `Calendar` in the current time zone, which on Linux resolves the zone through ICU:
/// the agent's first state file or journal line kept about 1.5 MiB of ICU time zone data and
/// calendar code resident for the life of the process.
public enum InternetTime {
    /// Seconds from the Unix epoch to `Date`'s reference date (2001-01-01T00:00:00Z).
    private static let referenceOffset: Int64 = 978_307_200

    /// `2026-05-01T12:00:00Z`; with `milliseconds`, `2026-05-01T12:00:00.250Z`. Sub-second
    /// parts are truncated, as Foundation's ISO 8601 style does.
    public static func string(from date: Date, milliseconds: Bool = false) -> String {
        // From the reference date, as Foundation's calendar does, so the fraction rounds alike.
        let interval = date.timeIntervalSinceReferenceDate
        guard interval.isFinite, abs(interval) < 1e15 else { return "" }
        let whole = interval.rounded(.down)
        let seconds = Int64(whole) + referenceOffset
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "" }
        var text =
            pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
        text += "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
        if milliseconds {
            let nanoseconds = Int((interval - whole) * 1e9)
            text += "." + pad(nanoseconds / 1_000_000, 3)
        }
        return text + "Z"
    }

    /// Reads `YYYY-MM-DDTHH:MM:SS`, an optional fraction of one to nine digits, then `Z`,
    /// `±HH:MM` or `±HHMM`, to the same `Date` Foundation's ISO 8601 parsing gives. Stricter
    /// than Foundation with hand-made text (one-digit fields, zone names, trailing characters):
    /// nil for those.
    public static func date(from text: String) -> Date? {
        var scanner = Scanner(Array(text.utf8))
        guard let year = scanner.number(digits: 4), scanner.skip("-"), let month = scanner.number(digits: 2),
            scanner.skip("-"),
            let day = scanner.number(digits: 2), scanner.skip("T"), let hour = scanner.number(digits: 2),
            scanner.skip(":"),
            let minute = scanner.number(digits: 2), scanner.skip(":"), let second = scanner.number(digits: 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        // The fraction as nanoseconds: one to nine digits, as Foundation reads it.
        var nanoseconds = 0
        if scanner.skip(".") {
            var count = 0
            while let digit = scanner.digit() {
                nanoseconds = nanoseconds * 10 + digit
                count += 1
                guard count <= 9 else { return nil }
            }
            guard count > 0 else { return nil }
            for _ in count..<9 { nanoseconds *= 10 }
        }
        var offset = 0
        if !scanner.skip("Z") {
            let sign: Int
            if scanner.skip("+") { sign = 1 } else if scanner.skip("-") { sign = -1 } else { return nil }
            guard let hours = scanner.number(digits: 2) else { return nil }
            _ = scanner.skip(":")
            guard let minutes = scanner.number(digits: 2), hours < 24, minutes < 60 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        }
        guard scanner.atEnd else { return nil }
        var midnight = tm()
        midnight.tm_year = Int32(year - 1900)
        midnight.tm_mon = Int32(month - 1)
        midnight.tm_mday = Int32(day)
        // timegm carries 31 February into March, as Foundation's calendar does. The sum runs in
        // the calendar's order, so the Double comes out identical.
        let start = Double(Int64(timegm(&midnight)) - referenceOffset)
        let time = Double(hour) * 3600 + Double(minute) * 60 + Double(second) + Double(nanoseconds) / 1e9
        return Date(timeIntervalSinceReferenceDate: start + time - Double(offset))
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Walks ASCII bytes.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int? {
            guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
                return nil
            }
            defer { index += 1 }
            return Int(bytes[index] - UInt8(ascii: "0"))
        }

        mutating func number(digits: Int) -> Int? {
            var value = 0
            for _ in 0..<digits {
                guard let digit = digit() else { return nil }
                value = value * 10 + digit
            }
            return value
        }
    }
}

extension JSONEncoder.DateEncodingStrategy {
    /// What `.iso8601` writes, through ``InternetTime``.
    public static let internetTime = JSONEncoder.DateEncodingStrategy.custom { date, encoder in
        var container = encoder.singleValueContainer()
        try container.encode(InternetTime.string(from: date))
    }
}

extension JSONDecoder.DateDecodingStrategy {
    /// What `.iso8601` reads, through ``InternetTime``.
    public static let internetTime = JSONDecoder.DateDecodingStrategy.custom { decoder in
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = InternetTime.date(from: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "Expected date string to be ISO8601-formatted.")
        }
        return date
    }
}
