import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("Protobuf wire format: embedded messages written in place")
struct ProtobufWriterTests {
    /// The bytes of `field` holding `body` as an embedded message, with its length as a varint.
    func expected(_ field: UInt8, _ body: [UInt8]) -> [UInt8] {
        var length: [UInt8] = []
        var v = body.count
        repeat {
            length.append(UInt8(v & 0x7f) | (v >> 7 != 0 ? 0x80 : 0))
            v >>= 7
        } while v != 0
        return [field << 3 | 2] + length + body
    }

    @Test("a message's length takes one, two or three varint bytes, and the body after it is intact",
          arguments: [0, 1, 127, 128, 300, 16_383, 16_384, 70_000])
    func lengths(_ size: Int) {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var w = ProtobufWriter()
        w.messageField(1) { m in
            m.varintField(1, 5)
            m.messageField(2) { inner in inner.bytesField(3, payload, presence: .explicit) }
            m.stringField(4, "end")
        }
        let inner = expected(3, payload)
        let message = [0x08, 5] + expected(2, inner) + [0x22, 3] + Array("end".utf8)
        #expect(w.bytes == expected(1, message))
    }

    @Test("varintSize is the number of bytes varint writes", arguments: [0, 1, 127, 128, 16_383, 16_384, 1 << 35, UInt64.max])
    func varintSize(_ value: UInt64) {
        var w = ProtobufWriter()
        w.varint(value)
        #expect(ProtobufWriter.varintSize(value) == w.bytes.count)
    }

    @Test("fields re-tagged to another field number keep their bodies, short and long")
    func retagged() {
        let long = String(repeating: "x", count: 300)
        var nine = ProtobufWriter(), six = ProtobufWriter()
        for value in ["a", long, ""] {
            nine.messageField(9) { $0.stringField(1, value) }
            six.messageField(6) { $0.stringField(1, value) }
        }
        var out = ProtobufWriter()
        out.appendRetagged(nine.bytes[...], field: 6)
        #expect(out.bytes == six.bytes)
    }

    @Test("an attribute written through one cursor is the KeyValue written field by field",
          arguments: [OTLPAttribute.Field.string("collector→lb"), .string(String(repeating: "x", count: 200)), .string(""),
                      .slice("/api/v1/write?extra_label=a", from: 14, to: 27), .slice("http/1.1", from: 0, to: 4), .slice("é?", from: 3, to: 3),
                      .bool(false), .int(-3), .int(1 << 40), .double(0.25), .joined("collector", "lb"), .joined("", "?"),
                      .joined(String(repeating: "y", count: 130), "lb")])
    func attribute(_ value: OTLPAttribute.Field) {
        var fast = ProtobufWriter(), plain = ProtobufWriter()
        OTLPAttribute.write("pipetrace.hop", value, 9, into: &fast)
        plain.messageField(9) { kv in
            kv.stringField(1, "pipetrace.hop")
            kv.messageField(2) { any in
                switch value {
                case .string(let s): any.stringField(1, s, presence: .explicit)
                case .slice(let s, let from, let to): any.stringField(1, String(decoding: Array(s.utf8)[from..<to], as: UTF8.self), presence: .explicit)
                case .joined(let a, let b): any.stringField(1, "\(a)→\(b)", presence: .explicit)
                case .bool(let b): any.varintField(2, b ? 1 : 0, presence: .explicit)
                case .int(let i): any.int64Field(3, i, presence: .explicit)
                case .double(let d): any.doubleField(4, d, presence: .explicit)
                }
            }
        }
        #expect(fast.bytes == plain.bytes)
        #expect(fast.bytes.count == OTLPAttribute.size("pipetrace.hop", value))
    }
}
