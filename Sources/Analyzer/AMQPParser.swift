/// AMQP 0-9-1 (RabbitMQ), both directions of one client-broker connection:
/// the protocol header, then frames (method, content header, body,
/// heartbeat) of many channels multiplexed on the connection.
///
/// Exchanges (the record's operation is the method that starts it):
/// - **Synchronous methods** (queue.declare, channel.open, basic.consume,
///   basic.get, connection.close, ...) end with their reply (-ok,
///   basic.get-empty) on the same channel; a method sent with `no-wait` is
///   complete when sent. A channel.close from the broker ends the request it
///   refuses with its reply code as the status. connection.start and tune
///   are the broker's requests, answered by the client.
/// - **basic.publish** on a channel in confirm mode (confirm.select seen)
///   ends with the broker's basic.ack or basic.nack for its delivery tag
///   (`multiple` ends every tag up to it); without confirms it is complete
///   when its content is sent.
/// - **basic.deliver** (the broker's request) ends with the consumer's
///   basic.ack, basic.nack or basic.reject of its delivery tag: the
///   consumer's processing time. Deliveries to a `no-ack` consumer are
///   complete on arrival.
/// - **connection.blocked** ends with connection.unblocked: how long the
///   broker held publishers back.
/// A channel or connection that closes ends what is outstanding on it as cancelled.
///
/// Attached mid-connection: frames are recognized by their shape (a method
/// frame of a known class and method); delivery tags of deliveries are the
/// broker's, so those pair; publishes whose confirm.select came before
/// attach are not paired (their tags are unknown) and are complete when sent.
///
/// Bounded: frames up to `maxFrameSize`, at most `maxStoredFrame` bytes of
/// one kept (method and header frames; bodies are counted, never kept), at
/// most `maxOutstanding` publishes and deliveries awaiting their answer (the
/// oldest is given up, marked `amqp.evicted`), `maxChannels` channels and
/// `maxConsumers` consumer tags.
public struct AMQPParser: ProtocolParser {
    public static let protocolName = "amqp"
    /// A frame's type, channel and size, and a method's class and method ids.
    public static let detectionBytes = 11
    public static let pairing = ExchangePairing.byExchange

    static let protocolHeader: [UInt8] = Array("AMQP".utf8) + [0, 0, 9, 1]
    static let frameEnd: UInt8 = 0xCE
    static let maxFrameSize = 16 << 20
    static let maxStoredFrame = 64 << 10
    static let maxOutstanding = 1024
    static let maxChannels = 2048
    static let maxConsumers = 1024
    static let maxPendingPerChannel = 16
    /// A message body's bytes that go into its fingerprint.
    static let bodyHeadBytes = 64

    enum FrameType: UInt8 {
        case method = 1, header = 2, body = 3, heartbeat = 8
    }

    /// One direction's frame in progress.
    struct Direction: Sendable {
        /// Bytes of the frame header (or of the protocol header) read so far.
        var head: [UInt8] = []
        var inPayload = false
        var remaining = 0
        /// The payload's captured prefix (method and header frames only).
        var payload: [UInt8] = []
        var captured = true
    }

    /// A message's content (header and body frames) in progress on a channel from one sender.
    struct Content: Sendable {
        /// The exchange it belongs to (nil: none, it is skipped).
        var exchange: UInt64?
        var bodySize: UInt64?
        var received: UInt64 = 0
        /// The frames' bytes so far, the method frame's included.
        var bytes: UInt64
        /// Ends the exchange's request (a publish, a delivery) rather than its response (a get-ok).
        var isRequest: Bool
        /// The response follows at once (a publish without confirms, a delivery to a no-ack consumer).
        var completeOnEnd: Bool
        /// What tells the message from others when it has no id (`amqp.fingerprint`): the content
        /// header's properties and body size, then the body's first `bodyHeadBytes`; nil once a part went uncaptured.
        var fingerprint: FNV1a? = nil
        var bodyHeadSeen = false
    }

    /// 64-bit FNV-1a: the same at both ends of a message, across runs and processes (Swift's `Hasher` is seeded).
    struct FNV1a: Sendable {
        private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

        mutating func combine<C: Collection<UInt8>>(_ bytes: C) {
            for byte in bytes { value = (value ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
    }

    /// A publish or a delivery waiting for its acknowledgement.
    struct Outstanding: Sendable {
        var tag: UInt64
        var exchange: UInt64
        var sequence: UInt64
        /// A publish's "exchange/routing-key": what a basic.return names it by.
        var destination: String? = nil
        /// The broker sent it back unroutable (its outcome is the return's reply code, whatever the confirm).
        var returned = false
    }

    /// A synchronous request waiting for its reply.
    struct Pending: Sendable {
        var method: AMQPMethod
        var exchange: UInt64
        /// basic.consume: the queue and whether the consumer acknowledges.
        var queue: String?
        var noAck = false
    }

    struct Channel: Sendable {
        var confirming = false
        var nextPublishTag: UInt64 = 1
        var publishes: [Outstanding] = []
        var deliveries: [Outstanding] = []
        /// The synchronous requests each end has in flight, oldest first (one,
        /// unless a client pipelines them), at most `maxPendingPerChannel`.
        var clientRequests: [Pending] = []
        var serverRequests: [Pending] = []

        mutating func add(_ p: Pending, from sender: Sender) {
            if sender == .client { Channel.add(p, to: &clientRequests) } else { Channel.add(p, to: &serverRequests) }
        }

        private static func add(_ p: Pending, to list: inout [Pending]) {
            if list.count >= AMQPParser.maxPendingPerChannel { list.removeFirst() }
            list.append(p)
        }

        /// Takes the first request `sender` has in flight that `matches`.
        mutating func take(from sender: Sender, where matches: (Pending) -> Bool) -> Pending? {
            if sender == .client {
                guard let i = clientRequests.firstIndex(where: matches) else { return nil }
                return clientRequests.remove(at: i)
            }
            guard let i = serverRequests.firstIndex(where: matches) else { return nil }
            return serverRequests.remove(at: i)
        }
        var clientContent: Content?
        var serverContent: Content?
        /// Number the exchanges each end starts that carry no number on the wire, in the order that end sent
        /// them: the same at both ends of the connection, whatever crosses on the wire. Kept when the channel
        /// is opened again, so numbers are not reused.
        var clientNumbers: UInt64 = 0
        var serverNumbers: UInt64 = 0

        mutating func number(_ sender: Sender) -> UInt64 {
            if sender == .client { clientNumbers += 1; return clientNumbers }
            serverNumbers += 1
            return serverNumbers
        }
    }

    struct Consumer: Sendable {
        var queue: String
        var noAck: Bool
    }

    private var client = Direction()
    private var server = Direction()
    private var channels: [UInt16: Channel] = [:]
    /// The channel of the last frame, kept out of `channels`: most frames follow one on the same channel.
    private var current: (id: UInt16, state: Channel)?
    private var consumers: [String: Consumer] = [:]
    private var outstanding = 0
    /// Orders what is outstanding (the oldest is evicted first).
    private var sequence: UInt64 = 0

    public init() {}

    // MARK: Detection

    /// The protocol header, or (attached mid-connection) a method frame of a
    /// known class and method: sent by the client (or by either end) it is a
    /// request, by the broker alone a response.
    public static func detect(_ prefix: ArraySlice<UInt8>) -> ProtocolDetection {
        let b = Array(prefix.prefix(detectionBytes))
        guard let first = b.first else { return .needMoreBytes }
        if first == protocolHeader[0] {
            let n = min(b.count, protocolHeader.count)
            guard b.prefix(n).elementsEqual(protocolHeader.prefix(n)) else { return .notThisProtocol }
            return b.count >= protocolHeader.count ? .request : .needMoreBytes
        }
        guard first == FrameType.method.rawValue else { return .notThisProtocol }
        if b.count >= 7 {
            let size = b[3..<7].reduce(0) { $0 << 8 | Int($1) }
            guard size >= 4 && size <= maxFrameSize else { return .notThisProtocol }
            if prefix.count > 7 + size, prefix[prefix.startIndex + 7 + size] != frameEnd { return .notThisProtocol }
        }
        guard b.count >= detectionBytes else { return .needMoreBytes }
        let method = AMQPMethod(UInt16(b[7]) << 8 | UInt16(b[8]), UInt16(b[9]) << 8 | UInt16(b[10]))
        guard let entry = AMQPMethod.table[method] else { return .notThisProtocol }
        return entry.senders == .server ? .response : .request
    }

    // MARK: Framing

    public mutating func consume(_ segment: StreamSegment, from sender: Sender,
                                 into events: inout [ParserEvent]) throws(ProtocolParseError) {
        var d = Direction()
        if sender == .client { swap(&d, &client) } else { swap(&d, &server) }
        defer { if sender == .client { swap(&d, &client) } else { swap(&d, &server) } }
        let bytes = segment.bytes
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if d.inPayload {
                let n = min(d.remaining, bytes.endIndex - i)
                if d.head.first == FrameType.body.rawValue {
                    // A body's head only, for the message's fingerprint.
                    let keep = min(n, AMQPParser.bodyHeadBytes - d.payload.count)
                    if d.captured && keep > 0 { d.payload.append(contentsOf: bytes[i..<(i + keep)]) }
                } else if d.captured && d.payload.count + n <= AMQPParser.maxStoredFrame && storesPayload(d) {
                    d.payload.append(contentsOf: bytes[i..<(i + n)])
                } else if storesPayload(d) {
                    d.captured = false
                }
                d.remaining -= n
                i += n
                if d.remaining == 0 { d.inPayload = false }
                continue
            }
            d.head.append(bytes[i])
            i += 1
            try step(&d, sender, &events)
        }
        var missing = segment.missing
        while missing > 0 {
            if d.inPayload {
                let n = Int(min(UInt64(d.remaining), missing))
                d.captured = false
                d.remaining -= n
                missing -= UInt64(n)
                if d.remaining == 0 { d.inPayload = false }
                continue
            }
            // The payload cap cut a write inside a frame's body: its frame-end octet went uncaptured
            // too, and the frame still ends there. A frame header that went by uncaptured loses the framing.
            guard d.head.count == 7 else { throw .framingLost }
            d.head.append(AMQPParser.frameEnd)
            missing -= 1
            try step(&d, sender, &events)
        }
    }

    private func storesPayload(_ d: Direction) -> Bool {
        d.head.first == FrameType.method.rawValue || d.head.first == FrameType.header.rawValue
    }

    /// A header byte was read: the protocol header or a frame header may be whole, or a frame's end.
    private mutating func step(_ d: inout Direction, _ sender: Sender, _ events: inout [ParserEvent]) throws(ProtocolParseError) {
        let first = d.head[0]
        if first == AMQPParser.protocolHeader[0] {
            guard d.head.last == AMQPParser.protocolHeader[d.head.count - 1] else { throw .malformed("protocol header") }
            if d.head.count == AMQPParser.protocolHeader.count { d.head.removeAll(keepingCapacity: true) }
            return
        }
        guard FrameType(rawValue: first) != nil else { throw .malformed("frame type \(first)") }
        if d.head.count == 7 {
            let size = d.head[3..<7].reduce(0) { $0 << 8 | Int($1) }
            guard size <= AMQPParser.maxFrameSize else { throw .malformed("frame size \(size)") }
            d.remaining = size
            d.inPayload = size > 0
            d.payload.removeAll(keepingCapacity: d.payload.capacity <= 4096)
            d.captured = true
        } else if d.head.count == 8 {
            guard d.head[7] == AMQPParser.frameEnd else { throw .malformed("frame end") }
            let channel = UInt16(d.head[1]) << 8 | UInt16(d.head[2])
            let size = d.head[3..<7].reduce(0) { $0 << 8 | Int($1) }
            let type = FrameType(rawValue: first)!
            d.head.removeAll(keepingCapacity: true)
            // A body keeps its head only: whole when its bytes are, whatever went uncaptured after them.
            let whole = d.captured || (type == .body && d.payload.count == min(size, AMQPParser.bodyHeadBytes))
            frame(type, channel: channel, size: size, payload: whole ? d.payload[...] : nil, sender, &events)
        }
    }

    public mutating func finish(_ sender: Sender, into events: inout [ParserEvent]) {
        // What is still outstanding is reported by the analyzer as incomplete.
    }

    // MARK: Frames

    private static func exchange(_ kind: UInt64, _ channel: UInt16, _ n: UInt64) -> UInt64 {
        kind << 56 | UInt64(channel) << 40 | n & (1 << 40 - 1)
    }

    private static let syncKind: UInt64 = 1, confirmedKind: UInt64 = 2, unconfirmedKind: UInt64 = 3
    private static let deliveryKind: UInt64 = 4, blockedKind: UInt64 = 5, serverSyncKind: UInt64 = 6

    /// One whole frame; `payload` is nil when it was not all captured.
    private mutating func frame(_ type: FrameType, channel: UInt16, size: Int, payload: ArraySlice<UInt8>?,
                                _ sender: Sender, _ events: inout [ParserEvent]) {
        let bytes = UInt64(size) + 8
        var c: Channel
        if let last = current.take() {
            if last.id == channel {
                c = last.state
            } else {
                channels[last.id] = last.state
                guard channels[channel] != nil || channels.count < AMQPParser.maxChannels else { return }
                c = channels.removeValue(forKey: channel) ?? Channel()
            }
        } else {
            guard channels[channel] != nil || channels.count < AMQPParser.maxChannels else { return }
            c = channels.removeValue(forKey: channel) ?? Channel()
        }
        defer { current = (channel, c) }
        switch type {
        case .heartbeat:
            return
        case .header:
            guard var content = sender == .client ? c.clientContent : c.serverContent else { return }
            var r = AMQPReader(payload ?? [])
            content.bytes += bytes
            if let _ = try? r.short(), let _ = try? r.short(), let size = try? r.longlong() { content.bodySize = size }
            if let payload, payload.count >= 12, let size = content.bodySize {
                var hash = FNV1a()
                hash.combine(payload.dropFirst(12))
                withUnsafeBytes(of: size.bigEndian) { hash.combine($0) }
                content.fingerprint = hash
            }
            if let e = content.exchange, let id = try? AMQPParser.messageID(&r) {
                events.append(.attribute(exchange: e, key: "amqp.message_id", value: id))
            }
            setContent(&c, sender, content, &events)
        case .body:
            guard var content = sender == .client ? c.clientContent : c.serverContent else { return }
            content.bytes += bytes
            if !content.bodyHeadSeen, content.received == 0 {
                // The head of the first body frame, when all of it was captured (what the fingerprint takes).
                if let payload, payload.count == min(size, AMQPParser.bodyHeadBytes) {
                    content.fingerprint?.combine(payload)
                } else {
                    content.fingerprint = nil
                }
                content.bodyHeadSeen = true
            }
            content.received += UInt64(size)
            setContent(&c, sender, content, &events)
        case .method:
            endContent(&c, sender, &events) // a method ends any content before it, however short
            var r = AMQPReader(payload ?? [])
            guard let classID = try? r.short(), let methodID = try? r.short() else { return }
            method(AMQPMethod(classID, methodID), &r, channel: channel, &c, bytes: bytes, sender, &events)
        }
    }

    private func setContent(_ c: inout Channel, _ sender: Sender, _ content: Content, _ events: inout [ParserEvent]) {
        if sender == .client { c.clientContent = content } else { c.serverContent = content }
        if let size = content.bodySize, content.received >= size { endContent(&c, sender, &events) }
    }

    /// The content from `sender` on the channel is whole (or cut by a method): its message is sent.
    private func endContent(_ c: inout Channel, _ sender: Sender, _ events: inout [ParserEvent]) {
        guard let content = sender == .client ? c.clientContent.take() : c.serverContent.take(),
              let e = content.exchange else { return }
        if let size = content.bodySize { events.append(.attribute(exchange: e, key: "amqp.body_size", value: String(size))) }
        if let hash = content.fingerprint, content.bodyHeadSeen || content.bodySize == 0 {
            events.append(.attribute(exchange: e, key: "amqp.fingerprint", value: AMQPParser.hex(hash.value)))
        }
        if content.isRequest {
            events.append(.requestEnded(exchange: e, bytes: content.bytes, at: .currentSegment))
            if content.completeOnEnd { events.append(.responseEnded(exchange: e, bytes: 0, at: .currentSegment)) }
        } else {
            events.append(.responseEnded(exchange: e, bytes: content.bytes, at: .currentSegment))
        }
    }

    /// 16 lowercase hex digits.
    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Skips a content header's properties before message-id; nil when it has none.
    static func messageID(_ r: inout AMQPReader) throws(AMQPReader.Malformed) -> String? {
        let flags = try r.short()
        guard flags & 1 << 7 != 0 else { return nil }
        if flags & 1 << 15 != 0 { _ = try r.shortString() } // content-type
        if flags & 1 << 14 != 0 { _ = try r.shortString() } // content-encoding
        if flags & 1 << 13 != 0 { try r.skipLong() } // headers
        if flags & 1 << 12 != 0 { _ = try r.octet() } // delivery-mode
        if flags & 1 << 11 != 0 { _ = try r.octet() } // priority
        for bit in [10, 9, 8] where flags & 1 << bit != 0 { _ = try r.shortString() } // correlation-id, reply-to, expiration
        return try r.shortString()
    }

    // MARK: Methods

    private mutating func method(_ m: AMQPMethod, _ r: inout AMQPReader, channel: UInt16, _ c: inout Channel,
                                 bytes: UInt64, _ sender: Sender, _ events: inout [ParserEvent]) {
        switch m {
        case .publish:
            publish(&r, channel: channel, &c, bytes: bytes, &events)
        case .deliver:
            deliver(&r, channel: channel, &c, bytes: bytes, &events)
        case .ack, .nack, .reject:
            acknowledge(m, &r, channel: channel, &c, bytes: bytes, sender, &events)
        case .blocked:
            let e = AMQPParser.exchange(AMQPParser.blockedKind, 0, c.number(.server))
            c.add(Pending(method: m, exchange: e), from: .server)
            begin(e, m, resource: try? r.shortString(), bytes: bytes, ended: true, &events)
        case .unblocked:
            guard let p = c.take(from: .server, where: { $0.method == .blocked }) else { return }
            respond(p.exchange, m, bytes: bytes, outcome: .ok, &events)
        case .getOK:
            got(&r, &c, bytes: bytes, sender, &events)
        case .basicReturn:
            returned(&r, &c, bytes: bytes, &events)
        default:
            if answer(m, &r, channel: channel, &c, bytes: bytes, sender, &events) { return }
            guard !m.replies.isEmpty else { return }
            request(m, &r, channel: channel, &c, bytes: bytes, sender, &events)
        }
    }

    /// The record's first events: a request whose method frame just ended.
    private func begin(_ e: UInt64, _ m: AMQPMethod, resource: String?, bytes: UInt64, ended: Bool,
                       _ events: inout [ParserEvent]) {
        events.append(.requestBegan(exchange: e))
        events.append(.requestHead(exchange: e, method: m.name, target: resource, protocolName: AMQPParser.protocolName))
        if ended { events.append(.requestEnded(exchange: e, bytes: bytes, at: .currentSegment)) }
    }

    private func respond(_ e: UInt64, _ m: AMQPMethod, bytes: UInt64, status: Int? = nil,
                         outcome: RequestRecord.Outcome?, ended: Bool = true, _ events: inout [ParserEvent]) {
        events.append(.responseBegan(exchange: e))
        events.append(.attribute(exchange: e, key: "amqp.reply", value: m.name))
        if let outcome { events.append(.outcome(exchange: e, status: status, outcome: outcome)) }
        if ended { events.append(.responseEnded(exchange: e, bytes: bytes, at: .currentSegment)) }
    }

    /// A synchronous request (or a close): its resource, no-wait and attributes from its arguments.
    private mutating func request(_ m: AMQPMethod, _ r: inout AMQPReader, channel: UInt16, _ c: inout Channel,
                                  bytes: UInt64, _ sender: Sender, _ events: inout [ParserEvent]) {
        let e = AMQPParser.exchange(sender == .client ? AMQPParser.syncKind : AMQPParser.serverSyncKind, channel,
                                    c.number(sender))
        var p = Pending(method: m, exchange: e)
        var resource: String?
        var noWait = false
        var attributes: [(String, String)] = [("amqp.channel", String(channel))]
        var status: Int?
        do throws(AMQPReader.Malformed) {
            switch (m.classID, m.methodID) {
            case (10, 40): resource = try r.shortString() // connection.open: the virtual host
            case (10, 50), (20, 40): // a close: its reply code and text, and the method that caused it
                status = Int(try r.short())
                attributes.append(("amqp.reply_text", try r.shortString()))
                let cause = AMQPMethod(try r.short(), try r.short())
                if cause.classID != 0 { attributes.append(("amqp.cause", cause.name)) }
            case (40, 10): // exchange.declare
                _ = try r.short()
                resource = try r.shortString()
                attributes.append(("amqp.exchange_type", try r.shortString()))
                noWait = try AMQPParser.bits(&r, 5)[4]
            case (40, 20): // exchange.delete
                _ = try r.short()
                resource = try r.shortString()
                noWait = try AMQPParser.bits(&r, 2)[1]
            case (40, 30), (40, 40): // exchange.bind, unbind: destination, source, routing key
                _ = try r.short()
                resource = try r.shortString()
                attributes.append(("amqp.source", try r.shortString()))
                attributes.append(("amqp.routing_key", try r.shortString()))
                noWait = try r.bit()
            case (50, 10), (50, 30), (50, 40): // queue.declare, purge, delete
                _ = try r.short()
                resource = try r.shortString()
                let n = m.methodID == 10 ? 5 : m.methodID == 30 ? 1 : 3
                noWait = try AMQPParser.bits(&r, n)[n - 1]
            case (50, 20), (50, 50): // queue.bind, unbind
                _ = try r.short()
                resource = try r.shortString()
                attributes.append(("amqp.exchange", try r.shortString()))
                attributes.append(("amqp.routing_key", try r.shortString()))
                noWait = m.methodID == 20 ? try r.bit() : false
            case (60, 20): // basic.consume
                _ = try r.short()
                let queue = try r.shortString()
                resource = queue
                let tag = try r.shortString()
                if !tag.isEmpty { attributes.append(("amqp.consumer_tag", tag)) }
                let flags = try AMQPParser.bits(&r, 4)
                p.queue = queue
                p.noAck = flags[1]
                noWait = flags[3]
                if noWait && !tag.isEmpty { remember(consumer: tag, Consumer(queue: queue, noAck: flags[1])) }
            case (60, 30): // basic.cancel
                let tag = try r.shortString()
                resource = consumers[tag]?.queue
                attributes.append(("amqp.consumer_tag", tag))
                noWait = try r.bit()
            case (60, 70): // basic.get
                _ = try r.short()
                resource = try r.shortString()
                p.noAck = try r.bit()
            case (85, 10): // confirm.select
                noWait = try r.bit()
                c.confirming = true
                c.nextPublishTag = 1
            default:
                break
            }
        } catch {
            attributes.append(("amqp.malformed", "request"))
        }
        begin(e, m, resource: resource, bytes: bytes, ended: true, &events)
        for (k, v) in attributes { events.append(.attribute(exchange: e, key: k, value: v)) }
        if let status {
            events.append(.outcome(exchange: e, status: status, outcome: AMQPParser.outcome(replyCode: status)))
        }
        if noWait {
            events.append(.attribute(exchange: e, key: "amqp.no_wait", value: "true"))
            events.append(.responseEnded(exchange: e, bytes: 0, at: .currentSegment))
            return
        }
        if m == .channelOpen { reset(&c, reason: m, &events) }
        c.add(p, from: sender)
    }

    /// `n` bit arguments.
    private static func bits(_ r: inout AMQPReader, _ n: Int) throws(AMQPReader.Malformed) -> [Bool] {
        var out: [Bool] = []
        for _ in 0..<n { out.append(try r.bit()) }
        return out
    }

    /// A reply to the other end's synchronous request, or a close that refuses it; false when it answers nothing.
    private mutating func answer(_ m: AMQPMethod, _ r: inout AMQPReader, channel: UInt16, _ c: inout Channel,
                                 bytes: UInt64, _ sender: Sender, _ events: inout [ParserEvent]) -> Bool {
        if m == .channelClose || m == .connectionClose {
            // The other end's oldest request in flight is refused by this close (a queue.declare answered by 404).
            guard let p = c.take(from: sender.peer, where: { $0.method != m }) else { return false }
            var copy = r
            let code = Int((try? copy.short()) ?? 0)
            respond(p.exchange, m, bytes: bytes, status: code, outcome: AMQPParser.outcome(replyCode: code), &events)
            return false // the close is a request of its own too
        }
        guard let p = c.take(from: sender.peer, where: { $0.method.classID == m.classID && $0.method.replies.contains(m.methodID) })
        else { return false }
        var attributes: [(String, String)] = []
        if m == .queueDeclareOK, let queue = try? r.shortString(), let ready = try? r.long(), let consumers = try? r.long() {
            if p.method.methodID == 10 && queue != "" { attributes.append(("amqp.queue", queue)) }
            attributes.append(("amqp.message_count", String(ready)))
            attributes.append(("amqp.consumer_count", String(consumers)))
        } else if m == .consumeOK, let tag = try? r.shortString() {
            attributes.append(("amqp.consumer_tag", tag))
            remember(consumer: tag, Consumer(queue: p.queue ?? "", noAck: p.noAck))
        }
        // A close's outcome is its own reply code, which close-ok does not change.
        let closed = m == .channelCloseOK || m == .connectionCloseOK
        respond(p.exchange, m, bytes: bytes, outcome: closed ? nil : .ok, &events)
        for (k, v) in attributes { events.append(.attribute(exchange: p.exchange, key: k, value: v)) }
        if m == .channelCloseOK { reset(&c, reason: .channelClose, &events) }
        if m == .connectionCloseOK {
            for key in channels.keys.sorted() {
                var other = channels[key]!
                reset(&other, reason: .connectionClose, &events)
                channels[key] = other
            }
            reset(&c, reason: .connectionClose, &events)
        }
        return true
    }

    private mutating func remember(consumer tag: String, _ consumer: Consumer) {
        if consumers[tag] == nil && consumers.count >= AMQPParser.maxConsumers { consumers.removeAll() }
        consumers[tag] = consumer
    }

    /// The channel closed or opened afresh: what waited on it is cancelled, tags start again.
    private mutating func reset(_ c: inout Channel, reason: AMQPMethod, _ events: inout [ParserEvent]) {
        let waiting = (c.publishes + c.deliveries).sorted { $0.sequence < $1.sequence }.map(\.exchange)
        for e in waiting + (c.clientRequests + c.serverRequests).map(\.exchange) {
            respond(e, reason, bytes: 0, outcome: .cancelled, &events)
        }
        outstanding -= c.publishes.count + c.deliveries.count
        c = Channel(clientNumbers: c.clientNumbers, serverNumbers: c.serverNumbers)
    }

    // MARK: Messages

    private mutating func publish(_ r: inout AMQPReader, channel: UInt16, _ c: inout Channel, bytes: UInt64,
                                  _ events: inout [ParserEvent]) {
        _ = try? r.short()
        let exchange = try? r.shortString()
        let key = exchange == nil ? nil : try? r.shortString()
        let destination = AMQPParser.destination(exchange, key)
        let e: UInt64
        if c.confirming {
            e = AMQPParser.exchange(AMQPParser.confirmedKind, channel, c.nextPublishTag)
            track(Outstanding(tag: c.nextPublishTag, exchange: e, sequence: 0, destination: destination),
                  in: &c.publishes, &events)
            c.nextPublishTag += 1
        } else {
            e = AMQPParser.exchange(AMQPParser.unconfirmedKind, channel, c.number(.client))
        }
        begin(e, .publish, resource: destination, bytes: bytes, ended: false, &events)
        message(e, channel: channel, exchange: exchange, routingKey: key, &events)
        if c.confirming {
            events.append(.attribute(exchange: e, key: "amqp.delivery_tag", value: String(c.nextPublishTag - 1)))
        }
        c.clientContent = Content(exchange: e, bytes: bytes, isRequest: true, completeOnEnd: !c.confirming)
    }

    private mutating func deliver(_ r: inout AMQPReader, channel: UInt16, _ c: inout Channel, bytes: UInt64,
                                  _ events: inout [ParserEvent]) {
        guard let tag = try? r.shortString(), let deliveryTag = try? r.longlong() else {
            c.serverContent = Content(exchange: nil, bytes: bytes, isRequest: true, completeOnEnd: true)
            return
        }
        let redelivered = (try? r.bit()) ?? false
        let exchange = try? r.shortString(), key = try? r.shortString()
        let consumer = consumers[tag]
        let e = AMQPParser.exchange(AMQPParser.deliveryKind, channel, deliveryTag)
        let noAck = consumer?.noAck ?? false
        if !noAck { track(Outstanding(tag: deliveryTag, exchange: e, sequence: 0), in: &c.deliveries, &events) }
        // The destination it was published to, as the publish names it (the queue is an attribute, when known).
        begin(e, .deliver, resource: AMQPParser.destination(exchange, key), bytes: bytes, ended: false, &events)
        message(e, channel: channel, exchange: exchange, routingKey: key, &events)
        events.append(.attribute(exchange: e, key: "amqp.consumer_tag", value: tag))
        events.append(.attribute(exchange: e, key: "amqp.delivery_tag", value: String(deliveryTag)))
        if let queue = consumer?.queue { events.append(.attribute(exchange: e, key: "amqp.queue", value: queue)) }
        if redelivered { events.append(.attribute(exchange: e, key: "amqp.redelivered", value: "true")) }
        if noAck {
            events.append(.attribute(exchange: e, key: "amqp.reply", value: "no-ack"))
            events.append(.outcome(exchange: e, status: nil, outcome: .ok))
        }
        c.serverContent = Content(exchange: e, bytes: bytes, isRequest: true, completeOnEnd: noAck)
    }

    private func message(_ e: UInt64, channel: UInt16, exchange: String?, routingKey: String?,
                         _ events: inout [ParserEvent]) {
        events.append(.attribute(exchange: e, key: "amqp.channel", value: String(channel)))
        if let exchange { events.append(.attribute(exchange: e, key: "amqp.exchange", value: exchange)) }
        if let routingKey { events.append(.attribute(exchange: e, key: "amqp.routing_key", value: routingKey)) }
    }

    /// "exchange/routing-key", the default exchange as "amq.default"; nil when neither was read.
    static func destination(_ exchange: String?, _ routingKey: String?) -> String? {
        guard exchange != nil || routingKey != nil else { return nil }
        let name = exchange.map { $0.isEmpty ? "amq.default" : $0 } ?? "?"
        return "\(name)/\(routingKey ?? "?")"
    }

    /// Waits for an answer; past `maxOutstanding` the oldest on the connection is given up.
    private mutating func track(_ o: Outstanding, in list: inout [Outstanding], _ events: inout [ParserEvent]) {
        var o = o
        sequence += 1
        o.sequence = sequence
        if outstanding >= AMQPParser.maxOutstanding {
            if let evicted = list.first { // the oldest of this list, which the channel fills
                list.removeFirst()
                outstanding -= 1
                events.append(.attribute(exchange: evicted.exchange, key: "amqp.evicted", value: "true"))
            } else {
                return
            }
        }
        list.append(o)
        outstanding += 1
    }

    /// basic.ack, nack or reject of one delivery tag or (`multiple`) every one up to it (0: all).
    private mutating func acknowledge(_ m: AMQPMethod, _ r: inout AMQPReader, channel: UInt16, _ c: inout Channel,
                                      bytes: UInt64, _ sender: Sender, _ events: inout [ParserEvent]) {
        guard let tag = try? r.longlong() else { return }
        let multiple = m == .reject ? false : (try? r.bit()) ?? false
        let requeue = m == .ack ? nil : try? r.bit()
        var list = sender == .server ? c.publishes : c.deliveries
        let answered = list.filter { multiple ? tag == 0 || $0.tag <= tag : $0.tag == tag }
        guard !answered.isEmpty else { return }
        list.removeAll { multiple ? tag == 0 || $0.tag <= tag : $0.tag == tag }
        outstanding -= answered.count
        if sender == .server { c.publishes = list } else { c.deliveries = list }
        // A nack from the broker: it could not take the message; from a consumer: it refused it.
        let outcome: RequestRecord.Outcome = m == .ack ? .ok : sender == .server ? .serverError : .clientError
        for o in answered {
            respond(o.exchange, m, bytes: bytes, outcome: o.returned ? nil : outcome, ended: false, &events)
            if multiple { events.append(.attribute(exchange: o.exchange, key: "amqp.multiple", value: "true")) }
            if let requeue { events.append(.attribute(exchange: o.exchange, key: "amqp.requeue", value: String(requeue))) }
            events.append(.responseEnded(exchange: o.exchange, bytes: bytes, at: .currentSegment))
        }
    }

    /// basic.return: the broker sends back a mandatory publish it could not route (before it confirms it). The
    /// oldest publish awaiting its confirm with the same destination takes the return's reply code (312 NO_ROUTE).
    private func returned(_ r: inout AMQPReader, _ c: inout Channel, bytes: UInt64, _ events: inout [ParserEvent]) {
        c.serverContent = Content(exchange: nil, bytes: bytes, isRequest: false, completeOnEnd: false)
        guard let code = try? r.short(), let text = try? r.shortString(), let exchange = try? r.shortString(),
              let key = try? r.shortString() else { return }
        let destination = AMQPParser.destination(exchange, key)
        guard let i = c.publishes.firstIndex(where: { !$0.returned && $0.destination == destination }) else { return }
        c.publishes[i].returned = true
        let e = c.publishes[i].exchange
        events.append(.attribute(exchange: e, key: "amqp.returned", value: text))
        events.append(.outcome(exchange: e, status: Int(code), outcome: AMQPParser.outcome(replyCode: Int(code))))
    }

    /// basic.get-ok answers a basic.get with a message.
    private mutating func got(_ r: inout AMQPReader, _ c: inout Channel, bytes: UInt64, _ sender: Sender,
                              _ events: inout [ParserEvent]) {
        guard sender == .server, let p = c.take(from: .client, where: { $0.method == .get }) else {
            c.serverContent = Content(exchange: nil, bytes: bytes, isRequest: false, completeOnEnd: false)
            return
        }
        respond(p.exchange, .getOK, bytes: bytes, outcome: .ok, ended: false, &events)
        if let tag = try? r.longlong() {
            events.append(.attribute(exchange: p.exchange, key: "amqp.delivery_tag", value: String(tag)))
            if (try? r.bit()) == true { events.append(.attribute(exchange: p.exchange, key: "amqp.redelivered", value: "true")) }
            if let exchange = try? r.shortString(), let key = try? r.shortString() {
                events.append(.attribute(exchange: p.exchange, key: "amqp.exchange", value: exchange))
                events.append(.attribute(exchange: p.exchange, key: "amqp.routing_key", value: key))
            }
        }
        c.serverContent = Content(exchange: p.exchange, bytes: bytes, isRequest: false, completeOnEnd: false)
    }

    /// What an AMQP reply code means: 200 is a clean close; the broker's
    /// failures (connection-forced, resource-error, internal-error) are server
    /// errors, the rest (not-found, access-refused, precondition-failed, ...) the client's.
    static func outcome(replyCode: Int) -> RequestRecord.Outcome {
        switch replyCode {
        case 200: .ok
        case 320, 506, 541: .serverError
        default: .clientError
        }
    }
}
