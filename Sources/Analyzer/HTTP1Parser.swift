import Events

/// HTTP/1.0 and HTTP/1.1 (RFC 9112), both directions of one connection.
///
/// Framing follows the RFC's rules for message length: HEAD, 1xx, 204 and
/// 304 responses have no body; `Transfer-Encoding: chunked` beats
/// `Content-Length`; a response with neither ends when the server closes.
/// Responses pair with requests in order, so pipelining works. Body bytes
/// that were not captured are skipped by count. When uncaptured bytes hide
/// chunk-size lines, the message's end is estimated: the last chunk seen, the
/// next message starting, the next request (for a response), or the close.
public struct HTTP1Parser: ProtocolParser {
    public static let protocolName = "http/1.1"
    /// "OPTIONS " is the longest method prefix detection compares.
    public static let detectionBytes = 8

    /// Longest start line plus headers buffered before the input is called malformed.
    static let maxHeadBytes = 64 * 1024
    /// Longest chunk-size line (with extensions).
    static let maxChunkLineBytes = 1024
    /// Requests sent and not yet answered.
    static let maxPipelined = 1024

    enum Framing: Hashable {
        /// Between messages.
        case idle
        /// In the start line or headers.
        case head
        case body(remaining: UInt64)
        case chunkSize
        case chunkData(remaining: UInt64)
        /// The CRLF after a chunk's data.
        case chunkEnd
        case trailers
        /// A response without a length: it ends when the server closes.
        case untilClose
        /// Chunk framing fell into uncaptured bytes: the end will be estimated.
        case estimated
    }

    /// One direction's message in progress.
    struct MessageState {
        var framing = Framing.idle
        /// The head, chunk-size line or trailers read so far.
        var buffer: [UInt8] = []
        /// Blank-line search: 0 mid-line, 1 at a line start, 2 at a line start after CR.
        var scan: UInt8 = 0
        var bytes: UInt64 = 0
        var exchange: UInt64 = 0
    }

    /// The last head one direction sent within one segment, and its bytes
    /// (none if longer than `maxBytes`). A keep-alive connection's next head
    /// is often the same bytes (a scraper's or load generator's request; a
    /// server's response within the same second of its Date): those are
    /// compared, not parsed again. The same bytes parse the same, so the
    /// result cannot differ. Kept apart from `MessageState`, which is moved
    /// in and out per segment.
    struct LastHead {
        /// Bounds the memory it holds per connection.
        static let maxBytes = 512
        var bytes: [UInt8] = []
        var head = HTTPHead()

        /// How many of `segment`'s first bytes are the last head, or nil if they are not.
        func length(in segment: ArraySlice<UInt8>) -> Int? {
            segment.starts(withBytesOf: bytes) ? bytes.count : nil
        }

        mutating func remember(_ head: HTTPHead, _ headBytes: ArraySlice<UInt8>) {
            bytes.removeAll(keepingCapacity: true)
            guard headBytes.count <= LastHead.maxBytes else {
                self.head = HTTPHead()  // its strings are not held for a head that can never match
                return
            }
            // Through a buffer pointer: appending the slice itself took the generic, byte-by-byte path.
            headBytes.withUnsafeBufferPointer { bytes.append(contentsOf: $0) }
            self.head = head
        }
    }

    struct PendingRequest {
        var exchange: UInt64
        var isHead = false
        var isConnect = false
        var expectsContinue = false
    }

    private var request = MessageState()
    private var response = MessageState()
    private var lastRequestHead = LastHead()
    private var lastResponseHead = LastHead()
    /// Requests whose response has not ended, oldest first.
    private var awaiting: [PendingRequest] = []
    private var nextExchange: UInt64 = 0
    /// The response after a 1xx adds to the bytes of the interim one.
    private var responseContinues = false
    /// An `Expect: 100-continue` request got a final status before its body:
    /// the client may send the next request instead of the body.
    private var requestBodyMaybeSkipped = false

    public init() {}

    static let methods: [[UInt8]] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]
        .map { Array($0.utf8) + [UInt8(ascii: " ")] }
    static let versionPrefix = Array("HTTP/1.".utf8)

    public static func detect(_ prefix: ArraySlice<UInt8>) -> ProtocolDetection {
        switch match(prefix, versionPrefix) {
        case .full: return .response
        case .partial: return .needMoreBytes
        case .none: break
        }
        var needMore = false
        for method in methods {
            switch match(prefix, method) {
            case .full: return .request
            case .partial: needMore = true
            case .none: break
            }
        }
        return needMore ? .needMoreBytes : .notThisProtocol
    }

    private enum PrefixMatch { case full, partial, none }

    private static func match(_ bytes: ArraySlice<UInt8>, _ expected: [UInt8]) -> PrefixMatch {
        let n = min(bytes.count, expected.count)
        guard n > 0, bytes.prefix(n).elementsEqual(expected.prefix(n)) else { return .none }
        return n == expected.count ? .full : .partial
    }

    public mutating func consume(_ segment: StreamSegment, from sender: Sender,
                                 into events: inout [ParserEvent]) throws(ProtocolParseError) {
        var state = MessageState()
        let isRequest = sender == .client
        if isRequest { swap(&state, &request) } else { swap(&state, &response) }
        defer { if isRequest { swap(&state, &request) } else { swap(&state, &response) } }
        try consume(segment, &state, isRequest: isRequest, &events)
    }

    public mutating func finish(_ sender: Sender, into events: inout [ParserEvent]) {
        if sender == .server {
            if response.framing == .untilClose || response.framing == .estimated {
                var state = response
                endMessage(&state, isRequest: false, at: .previousSegment, &events)
                response = state
            }
        } else if request.framing == .estimated {
            var state = request
            endMessage(&state, isRequest: true, at: .previousSegment, &events)
            request = state
        }
    }

    private mutating func consume(_ segment: StreamSegment, _ s: inout MessageState, isRequest: Bool,
                                  _ events: inout [ParserEvent]) throws(ProtocolParseError) {
        let bytes = segment.bytes
        /// Whether the segment starts a message: asked only when an estimated end depends on it.
        func startsMessage() -> Bool { HTTP1Parser.detect(bytes) == (isRequest ? .request : .response) }
        if isRequest && requestBodyMaybeSkipped {
            requestBodyMaybeSkipped = false
            if s.framing != .idle, s.framing != .head, startsMessage() {
                endMessage(&s, isRequest: true, at: .previousSegment, &events)
            }
        }
        if s.framing == .estimated {
            if startsMessage() {
                endMessage(&s, isRequest: isRequest, at: .previousSegment, &events)
            } else {
                s.bytes += segment.length
                if segment.missing == 0 && bytes.count >= 5 && bytes.suffix(5).elementsEqual(HTTP1Parser.lastChunk) {
                    endMessage(&s, isRequest: isRequest, at: .currentSegment, &events)
                }
                return
            }
        }

        var i = bytes.startIndex
        while i < bytes.endIndex {
            switch s.framing {
            case .idle:
                // RFC 9112 §2.2: ignore empty lines before a request line.
                if bytes[i] == HTTP1Parser.cr || bytes[i] == HTTP1Parser.lf { i += 1; continue }
                try beginMessage(&s, isRequest: isRequest, &events)
            case .head:
                if s.buffer.isEmpty && s.scan == 0,
                   let length = isRequest ? lastRequestHead.length(in: bytes[i...])
                                          : lastResponseHead.length(in: bytes[i...]) {
                    // The same head as the last one: its parse is reused.
                    s.bytes += UInt64(length)
                    i += length
                    try headDone(isRequest ? lastRequestHead.head : lastResponseHead.head, &s, isRequest: isRequest,
                                 &events, rest: StreamSegment(bytes: bytes[i...], missing: segment.missing))
                    continue
                }
                var head = HTTPHead(), defect: HTTPHead.Defect?
                if s.buffer.isEmpty && s.scan == 0, let end = HTTPHead.complete(in: bytes[i...], into: &head, defect: &defect) {
                    // The whole head is in this segment (the usual case): parsed where it lies, in one pass.
                    guard end - i <= HTTP1Parser.maxHeadBytes else {
                        throw .malformed("head longer than \(HTTP1Parser.maxHeadBytes) bytes")
                    }
                    s.bytes += UInt64(end - i)
                    if let defect { throw defect.error }
                    if isRequest {
                        lastRequestHead.remember(head, bytes[i..<end])
                    } else {
                        lastResponseHead.remember(head, bytes[i..<end])
                    }
                    i = end
                    try headDone(head, &s, isRequest: isRequest, &events,
                                 rest: StreamSegment(bytes: bytes[i...], missing: segment.missing))
                    continue
                }
                let end = HTTP1Parser.scanBlankLine(bytes[i...], &s.scan)
                let stop = end ?? bytes.endIndex
                guard s.buffer.count + (stop - i) <= HTTP1Parser.maxHeadBytes else {
                    throw .malformed("head longer than \(HTTP1Parser.maxHeadBytes) bytes")
                }
                s.bytes += UInt64(stop - i)
                let headStart = i
                i = stop
                if end == nil {
                    s.buffer.append(contentsOf: bytes[headStart..<stop])
                } else {
                    // A head split across segments is parsed from the buffer.
                    s.buffer.append(contentsOf: bytes[headStart..<stop])
                    let head = try HTTPHead(s.buffer[...])
                    s.buffer.removeAll(keepingCapacity: true)
                    try headDone(head, &s, isRequest: isRequest, &events,
                                 rest: StreamSegment(bytes: bytes[i...], missing: segment.missing))
                }
            case .body(let remaining):
                let n = min(remaining, UInt64(bytes.endIndex - i))
                i += Int(n)
                s.bytes += n
                if n == remaining {
                    endMessage(&s, isRequest: isRequest, at: .currentSegment, &events)
                } else {
                    s.framing = .body(remaining: remaining - n)
                }
            case .chunkSize:
                let lineEnd = bytes[i...].firstIndex(of: HTTP1Parser.lf)
                let stop = lineEnd.map { $0 + 1 } ?? bytes.endIndex
                guard s.buffer.count + (stop - i) <= HTTP1Parser.maxChunkLineBytes else {
                    throw .malformed("chunk-size line too long")
                }
                s.buffer.append(contentsOf: bytes[i..<stop])
                s.bytes += UInt64(stop - i)
                i = stop
                if lineEnd != nil {
                    let size = try HTTPHead.chunkSize(s.buffer)
                    s.buffer.removeAll(keepingCapacity: true)
                    if size == 0 {
                        s.framing = .trailers
                        s.scan = 1
                    } else {
                        s.framing = .chunkData(remaining: size)
                    }
                }
            case .chunkData(let remaining):
                let n = min(remaining, UInt64(bytes.endIndex - i))
                i += Int(n)
                s.bytes += n
                s.framing = n == remaining ? .chunkEnd : .chunkData(remaining: remaining - n)
            case .chunkEnd:
                let b = bytes[i]
                if b == HTTP1Parser.lf {
                    s.framing = .chunkSize
                } else if b != HTTP1Parser.cr {
                    throw .malformed("no CRLF after chunk data")
                }
                i += 1
                s.bytes += 1
            case .trailers:
                let end = HTTP1Parser.scanBlankLine(bytes[i...], &s.scan)
                let stop = end ?? bytes.endIndex
                guard s.buffer.count + (stop - i) <= HTTP1Parser.maxHeadBytes else {
                    throw .malformed("trailers longer than \(HTTP1Parser.maxHeadBytes) bytes")
                }
                // Trailers are not interpreted; keep only enough to bound them.
                s.buffer.append(contentsOf: bytes[i..<stop])
                s.bytes += UInt64(stop - i)
                i = stop
                if end != nil {
                    endMessage(&s, isRequest: isRequest, at: .currentSegment, &events)
                }
            case .untilClose, .estimated:
                s.bytes += UInt64(bytes.endIndex - i)
                i = bytes.endIndex
            }
        }

        var gap = segment.missing
        while gap > 0 {
            switch s.framing {
            case .body(let remaining):
                let n = min(remaining, gap)
                gap -= n
                s.bytes += n
                if n == remaining {
                    endMessage(&s, isRequest: isRequest, at: .currentSegment, &events)
                } else {
                    s.framing = .body(remaining: remaining - n)
                }
            case .chunkData(let remaining):
                let n = min(remaining, gap)
                gap -= n
                s.bytes += n
                s.framing = n == remaining ? .chunkEnd : .chunkData(remaining: remaining - n)
            case .chunkSize, .chunkEnd, .trailers:
                s.buffer.removeAll()
                s.framing = .estimated
            case .untilClose, .estimated:
                s.bytes += gap
                gap = 0
            case .idle, .head:
                throw .framingLost
            }
        }
    }

    private mutating func beginMessage(_ s: inout MessageState, isRequest: Bool,
                                       _ events: inout [ParserEvent]) throws(ProtocolParseError) {
        if isRequest {
            guard awaiting.count < HTTP1Parser.maxPipelined else { throw .malformed("too many requests unanswered") }
            if response.framing == .estimated {
                // A client sends its next request after reading the response: it has ended.
                var r = response
                endMessage(&r, isRequest: false, at: .previousSegment, &events)
                response = r
            }
            s.exchange = nextExchange
            nextExchange += 1
            awaiting.append(PendingRequest(exchange: s.exchange))
            events.append(.requestBegan(exchange: s.exchange))
            s.bytes = 0
        } else {
            guard let pending = awaiting.first else { throw .malformed("response without a request") }
            s.exchange = pending.exchange
            events.append(.responseBegan(exchange: s.exchange))
            if !responseContinues { s.bytes = 0 }
            responseContinues = false
        }
        s.framing = .head
        s.scan = 0
        s.buffer.removeAll(keepingCapacity: true)
    }

    private mutating func endMessage(_ s: inout MessageState, isRequest: Bool, at anchor: SegmentAnchor,
                                     _ events: inout [ParserEvent]) {
        if isRequest {
            events.append(.requestEnded(exchange: s.exchange, bytes: s.bytes, at: anchor))
        } else {
            events.append(.responseEnded(exchange: s.exchange, bytes: s.bytes, at: anchor))
            if !awaiting.isEmpty { awaiting.removeFirst() }
        }
        s.framing = .idle
        s.buffer.removeAll(keepingCapacity: s.buffer.capacity <= 4096)
        s.bytes = 0
    }

    /// A head ended before `rest`: a switch of protocol hands `rest` to the next one.
    @inline(__always)
    private mutating func headDone(_ head: HTTPHead, _ s: inout MessageState, isRequest: Bool,
                                   _ events: inout [ParserEvent], rest: @autoclosure () -> StreamSegment)
        throws(ProtocolParseError) {
        if isRequest { return try requestHeadDone(head, &s, &events) }
        do {
            try responseHeadDone(head, &s, &events)
        } catch .protocolSwitched(let to, _) {
            let rest = rest()
            throw .protocolSwitched(to: to, remaining: rest.length > 0 ? rest : nil)
        }
    }

    private mutating func requestHeadDone(_ head: HTTPHead, _ s: inout MessageState,
                                          _ events: inout [ParserEvent]) throws(ProtocolParseError) {
        guard head.isRequest else { throw .malformed("a response where a request was expected") }
        events.append(.requestHead(exchange: s.exchange, method: head.method, target: head.target,
                                   protocolName: head.isHTTP10 ? "http/1.0" : "http/1.1"))
        if let index = awaiting.firstIndex(where: { $0.exchange == s.exchange }) {
            awaiting[index].isHead = head.isHEAD
            awaiting[index].isConnect = head.isCONNECT
            awaiting[index].expectsContinue = head.expectsContinue
        }
        if head.transferCodings > 0 {
            guard head.isChunked else { throw .malformed("request transfer coding other than chunked") }
            s.framing = .chunkSize
        } else if let length = head.contentLength, length > 0 {
            s.framing = .body(remaining: length)
        } else {
            endMessage(&s, isRequest: true, at: .currentSegment, &events)
        }
    }

    private mutating func responseHeadDone(_ head: HTTPHead, _ s: inout MessageState,
                                           _ events: inout [ParserEvent]) throws(ProtocolParseError) {
        guard !head.isRequest, let status = head.status else { throw .malformed("a request where a response was expected") }
        let pending = awaiting.first ?? PendingRequest(exchange: s.exchange)
        if status == 101 || (pending.isConnect && (200..<300).contains(status)) {
            events.append(.responseHead(exchange: s.exchange, status: status))
            endMessage(&s, isRequest: false, at: .currentSegment, &events)
            throw .protocolSwitched(to: status == 101 ? head.upgrade : nil, remaining: nil)
        }
        if status < 200 {
            events.append(.interimResponse(exchange: s.exchange))
            responseContinues = true
            s.framing = .idle
            return
        }
        events.append(.responseHead(exchange: s.exchange, status: status))
        if request.exchange == pending.exchange {
            switch request.framing {
            case .estimated:
                // Servers answer after reading the whole request: it has ended.
                var r = request
                endMessage(&r, isRequest: true, at: .previousSegment, &events)
                request = r
            case .body, .chunkSize:
                requestBodyMaybeSkipped = pending.expectsContinue
            default:
                break
            }
        }
        if pending.isHead || status == 204 || status == 304 {
            endMessage(&s, isRequest: false, at: .currentSegment, &events)
        } else if head.transferCodings > 0 {
            s.framing = head.isChunked ? .chunkSize : .untilClose
        } else if let length = head.contentLength {
            if length == 0 {
                endMessage(&s, isRequest: false, at: .currentSegment, &events)
            } else {
                s.framing = .body(remaining: length)
            }
        } else {
            s.framing = .untilClose
        }
    }

    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let lastChunk = Array("0\r\n\r\n".utf8)

    /// The index just past the first empty line in `bytes`, or nil; `scan`
    /// carries the search across segments.
    static func scanBlankLine(_ bytes: ArraySlice<UInt8>, _ scan: inout UInt8) -> Int? {
        bytes.withUnsafeBufferPointer { buffer in
            var i = 0
            while i < buffer.count {
                if scan == 0 {
                    // Mid-line: nothing before the next LF can end the head.
                    guard let lineEnd = buffer[i...].firstIndex(ofByte: lf) else { return nil }
                    i = lineEnd + 1
                    scan = 1
                    continue
                }
                let b = buffer[i]
                i += 1
                if b == lf { return bytes.startIndex + i }
                scan = b == cr && scan == 1 ? 2 : 0
            }
            return nil
        }
    }
}
