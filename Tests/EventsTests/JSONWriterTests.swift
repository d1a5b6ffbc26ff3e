import Events
import Testing

@Suite("JSON output")
struct JSONWriterTests {
    @Test("payload text keeps printable bytes and escapes the rest, so grep finds requests")
    func payloadEscaping() {
        var w = JSONWriter()
        w.beginObject()
        w.payloadField("payload", Array("GET /metrics HTTP/1.1\r\n\"q\"\\".utf8) + [0x00, 0xff, 0x09])
        w.endObject()
        #expect(w.text == #"{"payload":"GET /metrics HTTP/1.1\r\n\"q\"\\\\x00\\xff\t"}"#)
    }

    @Test("every byte value is escaped the same wherever it falls in a payload's eight-byte words")
    func payloadEscapingEveryByteEveryOffset() {
        func expected(_ payload: [UInt8]) -> String {
            payload.map { b -> String in
                switch b {
                case UInt8(ascii: "\""): return "\\\""
                case UInt8(ascii: "\\"): return "\\\\"
                case 0x0a: return "\\n"
                case 0x0d: return "\\r"
                case 0x09: return "\\t"
                case 0x20..<0x7f: return String(UnicodeScalar(b))
                default:
                    let hex = String(b, radix: 16)
                    return "\\\\x" + (hex.count == 1 ? "0" + hex : hex)
                }
            }.joined()
        }
        var w = JSONWriter()
        for value in 0...255 {
            for offset in 0..<17 {
                var payload = Array("abcdefghijklmnopqrstuvwx".utf8)
                payload[offset] = UInt8(value)
                w.removeAll()
                w.beginObject()
                w.payloadField("p", payload)
                w.endObject()
                #expect(w.text == "{\"p\":\"" + expected(payload) + "\"}", "byte \(value) at \(offset)")
            }
        }
    }

    @Test("fields, nulls, nesting and numbers are valid JSON")
    func structure() {
        var w = JSONWriter()
        w.beginObject()
        w.field("s", "a\u{1}b")
        w.field("n", 42)
        w.field("none", nil as String?)
        w.field("ms", 14.8)
        w.field("neg", -0.0004, decimals: 3)
        w.beginObject("inner")
        w.field("ok", true)
        w.endObject()
        w.beginArray("list")
        w.beginObject(); w.field("i", 1); w.endObject()
        w.beginObject(); w.field("i", 2); w.endObject()
        w.endArray()
        w.endObject()
        #expect(w.text == #"{"s":"a\u0001b","n":42,"none":null,"ms":14.8,"neg":0,"inner":{"ok":true},"list":[{"i":1},{"i":2}]}"#)
    }
}

@Suite("Wall clock")
struct WallClockTests {
    // Expected values checked against Python's datetime.fromtimestamp(..., timezone.utc).
    @Test("monotonic timestamps render as RFC 3339 UTC with nanoseconds")
    func rfc3339() {
        #expect(WallClock.rfc3339(unixNanoseconds: 0) == "1970-01-01T00:00:00.000000000Z")
        #expect(WallClock.rfc3339(unixNanoseconds: 1_795_237_923_123_456_789) == "2026-11-21T05:12:03.123456789Z")
        #expect(WallClock.rfc3339(unixNanoseconds: 951_782_400_000_000_001) == "2000-02-29T00:00:00.000000001Z")
        let clock = WallClock(offsetNanoseconds: 1_000_000_000)
        #expect(clock.rfc3339(500) == "1970-01-01T00:00:01.000000500Z")
    }
}

@Suite("IP addresses")
struct IPAddressTests {
    @Test("IPv4 and IPv6 parse and print in their usual forms")
    func roundTrip() {
        for text in ["10.0.0.1", "::1", "fe80::1:2", "2001:db8::", "::", "1:2:3:4:5:6:7:8"] {
            #expect(IPAddress(text)?.description == text)
        }
        #expect(IPAddress("::ffff:10.1.2.3") == nil)  // dotted tail not accepted: say so, not guess
        #expect(IPAddress("256.1.1.1") == nil)
        #expect(IPAddress(ipv6: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]).unmapped.description == "10.1.2.3")
    }

    @Test("an address gives back its bytes, and orders and compares as its bytes do")
    func bytesAndOrder() {
        let texts = ["10.0.0.1", "10.0.0.2", "9.255.255.255", "255.0.0.1", "0.0.0.0",
                     "::", "::1", "fe80::1", "fe80::1:0", "2001:db8::ff", "a00:1::", "::ffff:a00:1"]
        let addresses = texts.map { IPAddress($0)! }
        for a in addresses {
            #expect((a.isIPv4 ? IPAddress(ipv4: a.bytes) : IPAddress(ipv6: a.bytes)) == a)
            #expect(a.bytes.count == (a.isIPv4 ? 4 : 16))
            for b in addresses {
                #expect((a < b) == a.bytes.lexicographicallyPrecedes(b.bytes), "\(a) < \(b)")
                #expect((a == b) == (a.bytes == b.bytes && a.isIPv4 == b.isIPv4), "\(a) == \(b)")
            }
        }
        // 10.0.0.1 and the IPv6 address starting with the same bytes are different addresses.
        #expect(IPAddress("10.0.0.1")! != IPAddress("a00:1::")!)
        #expect(IPAddress("::ffff:a00:1")!.unmapped == IPAddress("10.0.0.1")!)
    }
}
