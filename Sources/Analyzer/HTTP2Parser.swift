/// HTTP/2 (RFC 9113) in cleartext, both directions of one connection, and
/// gRPC over it: one exchange per stream, numbered by its stream id, so the
/// two ends' views pair by stream (`ExchangePairing.byExchange`).
///
/// - Prior knowledge (the client preface) and `Upgrade: h2c` (HTTP1Parser
///   hands the connection over; the upgrading request is its record).
/// - Headers through HPACK (`HPACKDecoder`), one table per direction, bounded.
///   Attached mid-connection (no preface seen), an index into the part of a
///   table from before attach decodes as unknown: the record's method or
///   target is then nil, never a wrong value.
/// - gRPC (content-type `application/grpc…`): the operation is the full
///   method ("pkg.Service/Method"), the status `grpc-status` from the
///   trailers (a gRPC error on HTTP 200 is an error; without one, the HTTP
///   status mapped as gRPC's clients map it), length-prefixed messages
///   counted each way with their bytes, `grpc-timeout` and `grpc-message`
///   as attributes. A streaming call is one record.
/// - RST_STREAM ends its stream as cancelled; GOAWAY ends the streams above
///   its last stream id the same way.
///
/// Bounded: at most `maxStreams` streams in flight (the oldest is dropped
/// past it), header blocks up to `maxHeaderBlock` bytes (a longer one is
/// not decoded and its table is lost), control frames' payloads up to
/// `maxControlPayload` bytes read. DATA payloads are never buffered.
public struct HTTP2Parser: ProtocolParser {
    public static let protocolName = "h2"
    /// The client preface's length.
    public static let detectionBytes = 24
    public static let pairing = ExchangePairing.byExchange
    public static let upgradeTokens = ["h2c"]

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    static let maxHeaderBlock = 64 * 1024
    static let maxControlPayload = 256
    static let maxStreams = 1024

    enum FrameType: UInt8 {
        case data = 0, headers, priority, rstStream, settings, pushPromise, ping, goaway, windowUpdate, continuation
    }

    enum Flag {
        static let endStream: UInt8 = 0x1
        static let endHeaders: UInt8 = 0x4
        static let padded: UInt8 = 0x8
        static let priority: UInt8 = 0x20
    }

    /// gRPC's length-prefixed messages in one direction of one stream.
    struct MessageReader {
        /// Bytes of the current 5-byte prefix read so far (0: between messages).
        var prefixRead = 0
        var length: UInt64 = 0
        /// Body bytes of the current message still to come.
        var bodyLeft: UInt64 = 0
        var bytes: UInt64 = 0
        /// Uncaptured bytes hid a prefix: counts are from then on lower bounds.
        var lost = false

        /// Reads `data`; returns how many messages began in it.
        mutating func feed(_ data: ArraySlice<UInt8>) -> Int {
            guard !lost else { return 0 }
            var began = 0
            var i = data.startIndex
            while i < data.endIndex {
                if bodyLeft > 0 {
                    let n = Int(min(bodyLeft, UInt64(data.endIndex - i)))
                    bodyLeft -= UInt64(n)
                    i += n
                    continue
                }
                if prefixRead == 0 { began += 1 }
                if prefixRead >= 1 { length = length << 8 | UInt64(data[i]) } // byte 0 is the compressed flag
                prefixRead += 1
                i += 1
                if prefixRead == 5 {
                    bodyLeft = length
                    bytes += length
                    prefixRead = 0
                    length = 0
                }
            }
            return began
        }

        mutating func skip(_ n: UInt64) {
            if !lost && prefixRead == 0 && n <= bodyLeft { bodyLeft -= n } else { lost = true }
        }
    }

    struct Stream {
        var exchange: UInt64
        var requestEnded = false
        var responseHeadersSeen = false
        var responseEnded = false
        var requestBytes: UInt64 = 0
        var responseBytes: UInt64 = 0
        var method: String?
        var path: String?
        var headKnown = false
        var isGRPC = false
        var grpcStatusSeen = false
        /// The block that ended the stream could not be decoded: its grpc-status is unknown, not absent.
        var grpcStatusUnknown = false
        var httpStatus: Int?
        var request = MessageReader()
        var response = MessageReader()
    }

    /// One direction's frames in progress.
    struct Direction {
        var header: [UInt8] = []
        var inFrame = false
        var type: UInt8 = 0
        var flags: UInt8 = 0
        var stream: UInt32 = 0
        var length = 0
        var remaining = 0
        /// HEADERS, CONTINUATION, PUSH_PROMISE and control payloads, read whole.
        var payload: [UInt8] = []
        var payloadLost = false
        /// DATA: the pad-length byte is still to come.
        var awaitingPadLength = false
        /// DATA: bytes before the padding still to come.
        var dataLeft = 0
        /// A header block across HEADERS/PUSH_PROMISE and CONTINUATION frames.
        var block: [UInt8] = []
        var blockLost = false
        var blockStream: UInt32 = 0
        var blockEndStream = false
        var blockIsPush = false
        var blockBytes: UInt64 = 0
        var expectContinuation = false
        /// Uncaptured bytes hid a frame header: frames resume at a segment that starts with one.
        var desynced = false
        var decoder: HPACKDecoder

        init(complete: Bool) {
            decoder = HPACKDecoder(isComplete: complete)
        }
    }

    private var client = Direction(complete: false)
    private var server = Direction(complete: false)
    /// Bytes of the client preface matched so far; nil once it is known whether it came.
    private var prefaceMatched: Int? = 0
    private var streams: [UInt32: Stream] = [:]
    /// The stream whose request was the HTTP/1.1 upgrade (`Upgrade: h2c`): not an exchange here.
    private var upgradedStream: UInt32?

    public init() {}

    public init(upgradedFrom token: String) {
        client = Direction(complete: true)
        server = Direction(complete: true)
        upgradedStream = 1
    }

    // MARK: Detection

    public static func detect(_ prefix: ArraySlice<UInt8>) -> ProtocolDetection {
        let n = min(prefix.count, preface.count)
        if n > 0 && prefix.prefix(n).elementsEqual(preface.prefix(n)) {
            return n == preface.count ? .request : .needMoreBytes
        }
        return detectMidConnection(prefix)
    }

    /// Frames seen after attach: whole, valid frame headers up to a HEADERS
    /// frame whose first pseudo-header the bytes name is a request's
    /// (`:method`, `:path`, `:scheme`, `:authority`) or a response's (`:status`).
    static func detectMidConnection(_ bytes: ArraySlice<UInt8>) -> ProtocolDetection {
        var i = bytes.startIndex
        while let (length, type, flags, stream) = plausibleFrameHeader(bytes, at: i) {
            guard type == .headers else {
                i += 9 + length
                continue
            }
            guard stream & 1 == 1 else { return .notThisProtocol }
            var j = i + 9
            if flags & Flag.padded != 0 { j += 1 }
            if flags & Flag.priority != 0 { j += 5 }
            return firstPseudoHeader(bytes[min(j, bytes.endIndex)...])
        }
        return .notThisProtocol
    }

    /// Whether a header block's pseudo-headers are a request's or a
    /// response's, read without a table: fields indexed into the unknown
    /// dynamic table are passed over; a regular field before any pseudo-header
    /// (they must come first) or a broken representation is not HTTP/2.
    static func firstPseudoHeader(_ block: ArraySlice<UInt8>) -> ProtocolDetection {
        var i = block.startIndex
        func kind(_ name: String) -> ProtocolDetection? {
            switch name {
            case ":method", ":path", ":scheme", ":authority", ":protocol": .request
            case ":status": .response
            default: name.hasPrefix(":") ? .notThisProtocol : nil
            }
        }
        for _ in 0..<16 where i < block.endIndex {
            let b = block[i]
            let prefixBits = b & 0x80 != 0 ? 7 : b & 0xC0 == 0x40 ? 6 : b & 0xE0 == 0x20 ? 5 : 4
            guard let index = try? HPACKDecoder.integer(block, &i, prefixBits: prefixBits) else { return .notThisProtocol }
            if prefixBits == 5 { continue } // a table size update
            var name: String?
            if index > HPACKDecoder.staticTable.count {
                name = nil // the unknown part of the dynamic table
            } else if index > 0 {
                name = HPACKDecoder.staticTable[index - 1].0
            } else {
                guard prefixBits != 7, let literal = try? HPACKDecoder.string(block, &i) else { return .notThisProtocol }
                name = literal
            }
            if prefixBits != 7 { guard (try? HPACKDecoder.string(block, &i)) != nil else { return .notThisProtocol } }
            if let name {
                guard let detection = kind(name) else { return .notThisProtocol } // a regular field first
                return detection
            }
        }
        return .notThisProtocol
    }

    // MARK: Frames

    public mutating func consume(_ segment: StreamSegment, from sender: Sender,
                                 into events: inout [ParserEvent]) throws(ProtocolParseError) {
        var bytes = segment.bytes
        if sender == .client, let matched = prefaceMatched {
            let n = min(HTTP2Parser.preface.count - matched, bytes.count)
            if bytes.prefix(n).elementsEqual(HTTP2Parser.preface[matched..<(matched + n)]) {
                prefaceMatched = matched + n
                bytes = bytes.dropFirst(n)
                if matched + n == HTTP2Parser.preface.count {
                    // From the start: both tables are known.
                    prefaceMatched = nil
                    if upgradedStream == nil {
                        client = Direction(complete: true)
                        server = Direction(complete: true)
                    }
                }
            } else if matched > 0 {
                throw .malformed("broken client preface")
            } else {
                prefaceMatched = nil // attached mid-connection
            }
            if bytes.isEmpty && segment.missing == 0 { return }
        }
        var d = Direction(complete: false)
        if sender == .client { swap(&d, &client) } else { swap(&d, &server) }
        defer { if sender == .client { swap(&d, &client) } else { swap(&d, &server) } }
        if d.desynced {
            guard HTTP2Parser.startsWithFrames(bytes) else { return }
            d.desynced = false
            d.inFrame = false
        }

        var i = bytes.startIndex
        while i < bytes.endIndex {
            if !d.inFrame {
                let n = min(9 - d.header.count, bytes.endIndex - i)
                d.header.append(contentsOf: bytes[i..<(i + n)])
                i += n
                if d.header.count == 9 { try beginFrame(&d, sender, &events) }
                continue
            }
            let n = min(d.remaining, bytes.endIndex - i)
            try payload(bytes[i..<(i + n)], &d, sender, &events)
            i += n
            d.remaining -= n
            if d.remaining == 0 { try endFrame(&d, sender, &events) }
        }
        var missing = segment.missing
        while missing > 0 {
            guard d.inFrame else {
                // Frame headers went by uncaptured: wait for a segment that starts with one.
                // Header blocks in them are lost, so is the table; streams they ended stay open.
                d.desynced = true
                d.header.removeAll(keepingCapacity: true)
                d.expectContinuation = false
                d.decoder.lose()
                return
            }
            let n = Int(min(UInt64(d.remaining), missing))
            skip(n, &d, sender)
            d.remaining -= n
            missing -= UInt64(n)
            if d.remaining == 0 { try endFrame(&d, sender, &events) }
        }
    }

    /// Whether `bytes` plausibly start with whole frames: what a sender that
    /// lost its framing waits for. Writes of HTTP/2 implementations hold whole frames.
    static func startsWithFrames(_ bytes: ArraySlice<UInt8>) -> Bool {
        var i = bytes.startIndex
        var frames = 0
        while let (length, _, _, _) = plausibleFrameHeader(bytes, at: i) {
            frames += 1
            i += 9 + length
        }
        // Stopped at the segment's end (or a frame running past it), or at something that is no frame header.
        return frames > 0 && bytes.endIndex - i < 9
    }

    /// The frame header at `i` when it follows the framing rules a detector
    /// can check (a known type, no reserved bit, at most the default frame
    /// size, stream 0 exactly for connection frames); nil if not, or if fewer than 9 bytes remain.
    static func plausibleFrameHeader(_ bytes: ArraySlice<UInt8>, at i: Int)
        -> (length: Int, type: FrameType, flags: UInt8, stream: UInt32)? {
        guard i >= bytes.startIndex, bytes.endIndex - i >= 9 else { return nil }
        let length = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
        let stream = (UInt32(bytes[i + 5]) << 24 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 8
                      | UInt32(bytes[i + 8])) & 0x7FFF_FFFF
        guard let type = FrameType(rawValue: bytes[i + 3]), length <= 1 << 14, bytes[i + 5] & 0x80 == 0 else { return nil }
        switch type {
        case .settings, .ping, .goaway: guard stream == 0 else { return nil }
        case .windowUpdate: break
        default: guard stream != 0 else { return nil }
        }
        return (length, type, bytes[i + 4], stream)
    }

    public mutating func finish(_ sender: Sender, into events: inout [ParserEvent]) {
        // A closed connection ends nothing cleanly: streams still open are
        // reported by the analyzer as incomplete.
    }

    private mutating func beginFrame(_ d: inout Direction, _ sender: Sender,
                                     _ events: inout [ParserEvent]) throws(ProtocolParseError) {
        let h = d.header
        d.header.removeAll(keepingCapacity: true)
        d.length = Int(h[0]) << 16 | Int(h[1]) << 8 | Int(h[2])
        d.type = h[3]
        d.flags = h[4]
        d.stream = (UInt32(h[5]) << 24 | UInt32(h[6]) << 16 | UInt32(h[7]) << 8 | UInt32(h[8])) & 0x7FFF_FFFF
        d.remaining = d.length
        d.inFrame = true
        d.payload.removeAll(keepingCapacity: true)
        d.payloadLost = false
        let type = FrameType(rawValue: d.type)
        if d.expectContinuation && (type != .continuation || d.stream != d.blockStream) {
            throw .malformed("header block interrupted")
        }
        switch type {
        case .data, .headers, .priority, .rstStream, .pushPromise, .continuation:
            guard d.stream != 0 else { throw .malformed("frame type \(d.type) on stream 0") }
        case .settings, .ping, .goaway:
            guard d.stream == 0 else { throw .malformed("frame type \(d.type) on stream \(d.stream)") }
        case .windowUpdate, nil:
            break
        }
        if type == .data {
            d.awaitingPadLength = d.flags & Flag.padded != 0
            d.dataLeft = d.awaitingPadLength ? 0 : d.length
            count(UInt64(9 + d.length), on: d.stream, sender)
        } else if type == .headers || type == .continuation || type == .pushPromise {
            d.blockBytes += UInt64(9 + d.length)
        }
        if d.remaining == 0 { try endFrame(&d, sender, &events) }
    }

    private mutating func count(_ bytes: UInt64, on id: UInt32, _ sender: Sender) {
        guard let index = streams.index(forKey: id) else { return }
        if sender == .client { streams.values[index].requestBytes += bytes } else { streams.values[index].responseBytes += bytes }
    }

    private mutating func payload(_ bytes: ArraySlice<UInt8>, _ d: inout Direction, _ sender: Sender,
                                  _ events: inout [ParserEvent]) throws(ProtocolParseError) {
        guard d.type == FrameType.data.rawValue else {
            let limit = d.type == FrameType.headers.rawValue || d.type == FrameType.continuation.rawValue
                || d.type == FrameType.pushPromise.rawValue ? HTTP2Parser.maxHeaderBlock : HTTP2Parser.maxControlPayload
            let room = max(0, limit - d.payload.count)
            d.payload.append(contentsOf: bytes.prefix(room))
            if bytes.count > room { d.payloadLost = true }
            return
        }
        var data = bytes
        if d.awaitingPadLength, let pad = data.first {
            d.awaitingPadLength = false
            data = data.dropFirst()
            guard Int(pad) <= d.remaining - 1 else { throw .malformed("DATA padding longer than the frame") }
            d.dataLeft = d.remaining - 1 - Int(pad)
        }
        let body = data.prefix(d.dataLeft)
        d.dataLeft -= body.count
        guard !body.isEmpty, let index = streams.index(forKey: d.stream), streams.values[index].isGRPC else { return }
        let began = sender == .client ? streams.values[index].request.feed(body) : streams.values[index].response.feed(body)
        let exchange = streams.values[index].exchange
        for _ in 0..<began { events.append(.message(exchange: exchange, from: sender)) }
    }

    private mutating func skip(_ n: Int, _ d: inout Direction, _ sender: Sender) {
        guard d.type == FrameType.data.rawValue else {
            d.payloadLost = true
            return
        }
        if d.awaitingPadLength {
            // The padding's length is unknown: so is where the data ends.
            d.awaitingPadLength = false
            d.dataLeft = d.remaining
            if let index = streams.index(forKey: d.stream) { skipMessages(UInt64(n), index, sender, exact: false) }
            d.dataLeft = max(0, d.dataLeft - n)
            return
        }
        let body = min(n, d.dataLeft)
        d.dataLeft -= body
        if body > 0, let index = streams.index(forKey: d.stream) { skipMessages(UInt64(body), index, sender, exact: true) }
    }

    private mutating func skipMessages(_ n: UInt64, _ index: [UInt32: Stream].Index, _ sender: Sender, exact: Bool) {
        if sender == .client {
            if exact { streams.values[index].request.skip(n) } else { streams.values[index].request.lost = true }
        } else {
            if exact { streams.values[index].response.skip(n) } else { streams.values[index].response.lost = true }
        }
    }

    private mutating func endFrame(_ d: inout Direction, _ sender: Sender,
                                   _ events: inout [ParserEvent]) throws(ProtocolParseError) {
        d.inFrame = false
        let type = FrameType(rawValue: d.type)
        switch type {
        case .data:
            if d.flags & Flag.endStream != 0 { endStream(d.stream, sender, &events) }
        case .headers, .pushPromise:
            var start = d.payload.startIndex, end = d.payload.endIndex
            if d.flags & Flag.padded != 0 {
                guard let pad = d.payload.first, !d.payloadLost else {
                    d.payloadLost = true
                    break
                }
                start += 1
                end -= Int(pad)
            }
            if type == .pushPromise { start += 4 } else if d.flags & Flag.priority != 0 { start += 5 }
            guard start <= end || d.payloadLost else { throw .malformed("HEADERS padding longer than the frame") }
            d.block.removeAll(keepingCapacity: true)
            if start <= end { d.block.append(contentsOf: d.payload[start..<end]) }
            d.blockLost = d.payloadLost
            d.blockStream = d.stream
            d.blockEndStream = type == .headers && d.flags & Flag.endStream != 0
            d.blockIsPush = type == .pushPromise
            if d.flags & Flag.endHeaders != 0 {
                try headerBlockDone(&d, sender, &events)
            } else {
                d.expectContinuation = true
            }
        case .continuation:
            guard d.expectContinuation else { throw .malformed("CONTINUATION without HEADERS") }
            if d.block.count + d.payload.count > HTTP2Parser.maxHeaderBlock { d.blockLost = true }
            if !d.blockLost { d.block.append(contentsOf: d.payload) }
            d.blockLost = d.blockLost || d.payloadLost
            if d.flags & Flag.endHeaders != 0 {
                d.expectContinuation = false
                try headerBlockDone(&d, sender, &events)
            }
        case .rstStream:
            let code = d.payload.count >= 4 && !d.payloadLost ? HTTP2Parser.uint32(d.payload[...]) : nil
            cancel(d.stream, errorCode: code, &events)
        case .goaway:
            guard d.payload.count >= 8 else { break }
            let last = HTTP2Parser.uint32(d.payload[...]) & 0x7FFF_FFFF
            let code = HTTP2Parser.uint32(d.payload[4...])
            // Streams the sender of GOAWAY could have opened are the other end's: those above `last` were not processed.
            let opener: UInt32 = sender == .server ? 1 : 0
            for id in streams.keys.sorted() where id > last && id & 1 == opener {
                cancel(id, errorCode: code, &events)
            }
        case .settings, .ping, .windowUpdate, .priority, nil:
            break
        }
    }

    static func uint32(_ b: ArraySlice<UInt8>) -> UInt32 {
        let i = b.startIndex
        return UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    // MARK: Headers

    private mutating func headerBlockDone(_ d: inout Direction, _ sender: Sender,
                                          _ events: inout [ParserEvent]) throws(ProtocolParseError) {
        let bytes = d.blockBytes
        d.blockBytes = 0
        var fields: [HPACKDecoder.Field]?
        if d.blockLost {
            d.decoder.lose()
        } else {
            do {
                fields = try d.decoder.decode(d.block[...])
            } catch {
                throw .malformed("HPACK: \(error)")
            }
        }
        guard !d.blockIsPush else { return } // decoded for the table's sake; pushes are not requests
        let id = d.blockStream
        if sender == .client {
            requestHeaders(id, fields, bytes: bytes, endStream: d.blockEndStream, &events)
        } else {
            responseHeaders(id, fields, bytes: bytes, endStream: d.blockEndStream, &events)
        }
    }

    /// The first value of `name`; `.unknown` when not found but the block had unknown fields.
    private enum Lookup { case found(String), absent, unknown }

    private static func lookup(_ name: String, in fields: [HPACKDecoder.Field]?) -> Lookup {
        guard let fields else { return .unknown }
        var sawUnknown = false
        for f in fields {
            if f.name == name { return f.value.map { .found($0) } ?? .unknown }
            if f.name == nil { sawUnknown = true }
        }
        return sawUnknown ? .unknown : .absent
    }

    private static func known(_ l: Lookup) -> String? {
        if case .found(let v) = l { return v }
        return nil
    }

    private mutating func requestHeaders(_ id: UInt32, _ fields: [HPACKDecoder.Field]?, bytes: UInt64, endStream: Bool,
                                         _ events: inout [ParserEvent]) {
        guard id & 1 == 1, id != upgradedStream else { return }
        if var stream = streams[id] {
            // Trailers of the request.
            stream.requestBytes += bytes
            streams[id] = stream
            if endStream { self.endStream(id, .client, &events) }
            return
        }
        let method = HTTP2Parser.lookup(":method", in: fields)
        let path = HTTP2Parser.lookup(":path", in: fields)
        if case .absent = method, case .absent = path { return } // trailers of a stream from before attach
        if streams.count >= HTTP2Parser.maxStreams, let oldest = streams.keys.min() { streams[oldest] = nil }
        var stream = Stream(exchange: UInt64(id))
        stream.requestBytes = bytes
        stream.method = HTTP2Parser.known(method)
        stream.path = HTTP2Parser.known(path)
        stream.headKnown = stream.method != nil && stream.path != nil
        if let type = HTTP2Parser.known(HTTP2Parser.lookup("content-type", in: fields)) {
            stream.isGRPC = type.hasPrefix("application/grpc")
        }
        events.append(.requestBegan(exchange: stream.exchange))
        HTTP2Parser.head(of: stream, into: &events)
        events.append(.attribute(exchange: stream.exchange, key: "http2.stream_id", value: String(id)))
        if stream.isGRPC, let timeout = HTTP2Parser.known(HTTP2Parser.lookup("grpc-timeout", in: fields)) {
            events.append(.attribute(exchange: stream.exchange, key: "grpc.timeout", value: timeout))
        }
        streams[id] = stream
        if endStream { self.endStream(id, .client, &events) }
    }

    /// The request's head as the record shows it: gRPC's full method, or the HTTP method and path.
    private static func head(of stream: Stream, into events: inout [ParserEvent]) {
        if stream.isGRPC {
            events.append(.requestHead(exchange: stream.exchange, method: stream.path.map { String($0.drop { $0 == "/" }) },
                                       target: stream.path, protocolName: "grpc"))
        } else {
            events.append(.requestHead(exchange: stream.exchange, method: stream.method, target: stream.path,
                                       protocolName: "h2"))
        }
    }

    private mutating func responseHeaders(_ id: UInt32, _ fields: [HPACKDecoder.Field]?, bytes: UInt64, endStream: Bool,
                                          _ events: inout [ParserEvent]) {
        guard var stream = streams[id] else { return }
        stream.responseBytes += bytes
        let exchange = stream.exchange
        let status = HTTP2Parser.known(HTTP2Parser.lookup(":status", in: fields)).flatMap { Int($0) }
        if !stream.responseHeadersSeen {
            events.append(.responseBegan(exchange: exchange))
            if let status, status < 200 {
                events.append(.interimResponse(exchange: exchange))
                streams[id] = stream
                return
            }
            stream.responseHeadersSeen = true
            if !stream.isGRPC, let type = HTTP2Parser.known(HTTP2Parser.lookup("content-type", in: fields)),
               type.hasPrefix("application/grpc") {
                stream.isGRPC = true
                HTTP2Parser.head(of: stream, into: &events)
            }
            if let status {
                stream.httpStatus = status
                // A gRPC call's status is grpc-status; its HTTP status is an attribute.
                events.append(stream.isGRPC ? .attribute(exchange: exchange, key: "http.status_code", value: String(status))
                                            : .responseHead(exchange: exchange, status: status))
            }
        }
        let grpcStatus = HTTP2Parser.lookup("grpc-status", in: fields)
        if endStream, case .unknown = grpcStatus { stream.grpcStatusUnknown = true }
        if let text = HTTP2Parser.known(grpcStatus), let code = Int(text) {
            if !stream.isGRPC {
                stream.isGRPC = true
                HTTP2Parser.head(of: stream, into: &events)
            }
            stream.grpcStatusSeen = true
            events.append(.outcome(exchange: exchange, status: code, outcome: RequestRecord.Outcome(grpcStatus: code)))
            if let message = HTTP2Parser.known(HTTP2Parser.lookup("grpc-message", in: fields)), !message.isEmpty {
                events.append(.attribute(exchange: exchange, key: "grpc.message", value: message))
            }
        }
        streams[id] = stream
        if endStream { self.endStream(id, .server, &events) }
    }

    // MARK: Stream ends

    private mutating func endStream(_ id: UInt32, _ sender: Sender, _ events: inout [ParserEvent]) {
        guard var stream = streams[id] else { return }
        if sender == .client {
            guard !stream.requestEnded else { return }
            stream.requestEnded = true
            events.append(.requestEnded(exchange: stream.exchange, bytes: stream.requestBytes, at: .currentSegment))
        } else {
            guard !stream.responseEnded else { return }
            stream.responseEnded = true
            if stream.isGRPC && !stream.grpcStatusSeen && !stream.grpcStatusUnknown, let status = stream.httpStatus {
                // No grpc-status: gRPC clients take the HTTP status (grpc/doc/http-grpc-status-mapping.md).
                let code = HTTP2Parser.grpcStatus(httpStatus: status)
                events.append(.outcome(exchange: stream.exchange, status: code, outcome: RequestRecord.Outcome(grpcStatus: code)))
            }
            HTTP2Parser.messageAttributes(stream, &events)
            events.append(.responseEnded(exchange: stream.exchange, bytes: stream.responseBytes, at: .currentSegment))
        }
        streams[id] = stream.requestEnded && stream.responseEnded ? nil : stream
    }

    private static func messageAttributes(_ stream: Stream, _ events: inout [ParserEvent]) {
        guard stream.isGRPC else { return }
        let e = stream.exchange
        events.append(.attribute(exchange: e, key: "grpc.request.message_bytes", value: String(stream.request.bytes)))
        events.append(.attribute(exchange: e, key: "grpc.response.message_bytes", value: String(stream.response.bytes)))
        if stream.request.lost || stream.response.lost {
            events.append(.attribute(exchange: e, key: "grpc.messages_uncounted", value: "true"))
        }
    }

    /// An end reset the stream (RST_STREAM) or the connection is going away past it.
    private mutating func cancel(_ id: UInt32, errorCode: UInt32?, _ events: inout [ParserEvent]) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        let e = stream.exchange
        if let errorCode { events.append(.attribute(exchange: e, key: "http2.error_code", value: String(errorCode))) }
        if !stream.grpcStatusSeen {
            events.append(.outcome(exchange: e, status: stream.isGRPC ? 1 : nil, outcome: .cancelled))
        }
        if !stream.requestEnded {
            events.append(.requestEnded(exchange: e, bytes: stream.requestBytes, at: .currentSegment))
        }
        if !stream.responseEnded {
            HTTP2Parser.messageAttributes(stream, &events)
            events.append(.responseEnded(exchange: e, bytes: stream.responseBytes, at: .currentSegment))
        }
    }

    /// The gRPC status a client reports for an HTTP status without `grpc-status`.
    static func grpcStatus(httpStatus: Int) -> Int {
        switch httpStatus {
        case 200: 2        // UNKNOWN: a gRPC response must carry a status
        case 400: 13       // INTERNAL
        case 401: 16       // UNAUTHENTICATED
        case 403: 7        // PERMISSION_DENIED
        case 404: 12       // UNIMPLEMENTED
        case 429, 502, 503, 504: 14 // UNAVAILABLE
        default: 2         // UNKNOWN
        }
    }
}
