/// AMQP 0-9-1 frames built by hand, as a client and a broker send them.
enum AMQPWire {
    static let protocolHeader: [UInt8] = Array("AMQP".utf8) + [0, 0, 9, 1]
    static let heartbeat: [UInt8] = [8, 0, 0, 0, 0, 0, 0, 0xCE]

    /// Arguments, written in the specification's types.
    struct Arguments {
        var bytes: [UInt8] = []
        func short(_ v: UInt16) -> Arguments { adding(be(UInt64(v), 2)) }
        func long(_ v: UInt32) -> Arguments { adding(be(UInt64(v), 4)) }
        func longlong(_ v: UInt64) -> Arguments { adding(be(v, 8)) }
        func octet(_ v: UInt8) -> Arguments { adding([v]) }
        func string(_ s: String) -> Arguments { adding([UInt8(s.utf8.count)] + Array(s.utf8)) }
        /// Consecutive bits packed in one octet, first bit lowest.
        func bits(_ b: Bool...) -> Arguments { octet(b.enumerated().reduce(0) { $0 | ($1.element ? 1 << $1.offset : 0) }) }
        func table() -> Arguments { long(0) }
        func longString(_ s: String) -> Arguments { long(UInt32(s.utf8.count)).adding(Array(s.utf8)) }
        private func adding(_ b: [UInt8]) -> Arguments { Arguments(bytes: bytes + b) }
    }

    static func be(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * (n - 1 - $0))) } }

    static func frame(_ type: UInt8, channel: UInt16, _ payload: [UInt8]) -> [UInt8] {
        [type] + be(UInt64(channel), 2) + be(UInt64(payload.count), 4) + payload + [0xCE]
    }

    static func method(_ channel: UInt16, _ classID: UInt16, _ methodID: UInt16, _ a: Arguments = Arguments()) -> [UInt8] {
        frame(1, channel: channel, be(UInt64(classID), 2) + be(UInt64(methodID), 2) + a.bytes)
    }

    /// A content header (with a message id when given) and the body in frames of at most `frameMax` bytes.
    static func content(_ channel: UInt16, body: [UInt8], messageID: String? = nil, frameMax: Int = 4096) -> [UInt8] {
        var header = Arguments().short(60).short(0).longlong(UInt64(body.count))
        header = messageID.map { header.short(1 << 7).string($0) } ?? header.short(0)
        var out = frame(2, channel: channel, header.bytes)
        var i = 0
        while i < body.count {
            let n = min(frameMax, body.count - i)
            out += frame(3, channel: channel, Array(body[i..<(i + n)]))
            i += n
        }
        return out
    }

    static func publish(_ channel: UInt16, exchange: String = "", routingKey: String, body: [UInt8],
                        messageID: String? = nil) -> [UInt8] {
        method(channel, 60, 40, Arguments().short(0).string(exchange).string(routingKey).bits(false, false))
            + content(channel, body: body, messageID: messageID)
    }

    static func deliver(_ channel: UInt16, consumerTag: String, tag: UInt64, redelivered: Bool = false,
                        exchange: String = "", routingKey: String, body: [UInt8], messageID: String? = nil) -> [UInt8] {
        method(channel, 60, 60, Arguments().string(consumerTag).longlong(tag).bits(redelivered).string(exchange)
            .string(routingKey)) + content(channel, body: body, messageID: messageID)
    }

    static func ack(_ channel: UInt16, tag: UInt64, multiple: Bool = false) -> [UInt8] {
        method(channel, 60, 80, Arguments().longlong(tag).bits(multiple))
    }

    static func nack(_ channel: UInt16, tag: UInt64, multiple: Bool = false, requeue: Bool = true) -> [UInt8] {
        method(channel, 60, 120, Arguments().longlong(tag).bits(multiple, requeue))
    }

    static func reject(_ channel: UInt16, tag: UInt64, requeue: Bool) -> [UInt8] {
        method(channel, 60, 90, Arguments().longlong(tag).bits(requeue))
    }

    static func queueDeclare(_ channel: UInt16, _ queue: String, noWait: Bool = false, passive: Bool = false) -> [UInt8] {
        method(channel, 50, 10, Arguments().short(0).string(queue).bits(passive, true, false, false, noWait).table())
    }

    static func queueDeclareOK(_ channel: UInt16, _ queue: String, messages: UInt32 = 0, consumers: UInt32 = 0) -> [UInt8] {
        method(channel, 50, 11, Arguments().string(queue).long(messages).long(consumers))
    }

    static func consume(_ channel: UInt16, queue: String, tag: String, noAck: Bool = false) -> [UInt8] {
        method(channel, 60, 20, Arguments().short(0).string(queue).string(tag).bits(false, noAck, false, false).table())
    }

    static func consumeOK(_ channel: UInt16, tag: String) -> [UInt8] { method(channel, 60, 21, Arguments().string(tag)) }

    static func channelClose(_ channel: UInt16, code: UInt16, text: String, cause: (UInt16, UInt16) = (0, 0)) -> [UInt8] {
        method(channel, 20, 40, Arguments().short(code).string(text).short(cause.0).short(cause.1))
    }

    /// The handshake up to an open channel 1: segments as each end writes them.
    static let handshake: [(client: Bool, bytes: [UInt8])] = [
        (true, protocolHeader),
        (false, method(0, 10, 10, Arguments().octet(0).octet(9).table().longString("PLAIN").longString("en_US"))),
        (true, method(0, 10, 11, Arguments().table().string("PLAIN").longString("\0guest\0guest").string("en_US"))),
        (false, method(0, 10, 30, Arguments().short(2047).long(131072).short(60))),
        (true, method(0, 10, 31, Arguments().short(2047).long(131072).short(60)) + method(0, 10, 40, Arguments().string("/").string("").bits(false))),
        (false, method(0, 10, 41, Arguments().string(""))),
        (true, method(1, 20, 10, Arguments().string(""))),
        (false, method(1, 20, 11, Arguments().long(0))),
    ]
}
