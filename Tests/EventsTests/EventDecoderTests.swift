import TestSupport
import CPipetraceEvents
import Events
import Testing

/// Ring-buffer records built the way the BPF side builds them.
enum RawEvent {
    static func header(kind: pt_event_kind) -> pt_header {
        var h = pt_header()
        h.kind = kind.rawValue
        h.pid = 4242
        h.tid = 4243
        h.netns = 4026532000
        h.timestamp = 1_000_000_123
        h.cgroup_id = 77
        h.conn_id = 9
        withUnsafeMutableBytes(of: &h.comm) { raw in
            for (i, b) in "nginx".utf8.enumerated() { raw[i] = b }
        }
        h.tuple.family = 2
        withUnsafeMutableBytes(of: &h.tuple.saddr) { $0.copyBytes(from: [10, 0, 0, 1]) }
        withUnsafeMutableBytes(of: &h.tuple.daddr) { $0.copyBytes(from: [10, 0, 0, 2]) }
        h.tuple.sport = 80
        h.tuple.dport = 41000
        return h
    }

    /// Connection 9's facts, as the kernel sends them before its first data event.
    static func facts(_ change: (inout pt_header) -> Void = { _ in }) -> [UInt8] {
        var e = pt_facts_event()
        e.hdr = header(kind: PT_EVENT_CONN_FACTS)
        change(&e.hdr)
        return bytes(e)
    }

    static func data(payload: [UInt8], length: UInt64? = nil, flags: UInt16 = 0, pid: UInt32 = 4242) -> [UInt8] {
        var e = pt_data_event()
        e.kind = PT_EVENT_DATA.rawValue
        e.pid = pid
        e.tid = pid + 1
        e.conn_id = 9
        e.timestamp = 1_000_000_123
        e.enter_ts = 1_000_000_000
        e.len = length ?? UInt64(payload.count)
        e.captured = UInt32(payload.count)
        e.fd = 7
        e.direction = UInt16(PT_DIR_EGRESS.rawValue)
        e.syscall = UInt16(PT_SYS_WRITEV.rawValue)
        e.flags = flags
        e.role = UInt16(PT_ROLE_SERVER.rawValue)
        return withUnsafeBytes(of: e) { Array($0) } + payload
    }

    static func bytes<T>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
}

@Suite("Event decoding")
struct EventDecoderTests {
    /// `bytes` decoded by a decoder that has connection 9's facts.
    func decode(_ bytes: [UInt8]) throws -> ProbeEvent? {
        var decoder = EventDecoder()
        #expect(try RawEvent.facts().withUnsafeBytes { try decoder.decode($0) } == nil)
        return try bytes.withUnsafeBytes { try decoder.decode($0) }
    }

    @Test("a data event keeps every field and its payload, its connection's facts joined to it")
    func dataEvent() throws {
        let payload = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        guard case .data(let d) = try decode(RawEvent.data(payload: payload)) else {
            Issue.record("not a data event"); return
        }
        #expect(d.header.pid == 4242 && d.header.tid == 4243 && d.header.comm == "nginx")
        #expect(d.header.netns == 4026532000 && d.header.cgroupID == 77 && d.header.connectionID == 9)
        #expect(d.header.tuple.local.description == "10.0.0.1:80")
        #expect(d.header.tuple.remote.description == "10.0.0.2:41000")
        #expect(d.syscall == .writev && d.direction == .egress && d.role == .server && d.fd == 7)
        #expect(d.enterTimestamp == 1_000_000_000 && d.header.timestamp == 1_000_000_123)
        #expect(d.payload == payload && !d.isTruncated)
    }

    @Test("a data event of a connection whose facts never came is an error")
    func factsMissing() throws {
        var decoder = EventDecoder()
        #expect(throws: EventDecodingError.connectionFactsMissing(connectionID: 9)) {
            try RawEvent.data(payload: [1]).withUnsafeBytes { try decoder.decode($0) }
        }
    }

    @Test("a decoder kept across records never changes an event it handed out")
    func reusedDecoder() throws {
        var decoder = EventDecoder()
        func decode(_ bytes: [UInt8]) throws -> DataEvent? {
            guard case .data(let d) = try bytes.withUnsafeBytes({ try decoder.decode($0) }) else { return nil }
            return d
        }
        #expect(try decode(RawEvent.facts()) == nil)
        let first = try #require(try decode(RawEvent.data(payload: Array("GET / HTTP/1.1\r\n\r\n".utf8))))
        let second = try #require(try decode(RawEvent.data(payload: Array("HTTP/1.1 204 No Content\r\n\r\n".utf8))))
        // The first event still holds its payload while the second is decoded: each keeps its own bytes.
        #expect(first.payload == Array("GET / HTTP/1.1\r\n\r\n".utf8))
        #expect(second.payload == Array("HTTP/1.1 204 No Content\r\n\r\n".utf8))
        _ = consume first
        let third = try #require(try decode(RawEvent.data(payload: [1, 2])))
        #expect(third.payload == [1, 2] && second.payload.count == 27)

        // The same pid after exec: the kernel sends the facts again, and the new name is decoded.
        func named(_ name: String, pid: UInt32 = 4242) -> [UInt8] {
            RawEvent.facts { h in
                h.pid = pid
                h.tid = pid + 1
                withUnsafeMutableBytes(of: &h.comm) { raw in
                    raw.copyBytes(from: Array(repeating: 0, count: raw.count))
                    for (i, b) in name.utf8.enumerated() { raw[i] = b }
                }
            }
        }
        #expect(try decode(named("envoy")) == nil)
        #expect(try decode(RawEvent.data(payload: []))?.header.comm == "envoy")
        #expect(try decode(named("nginx")) == nil)
        #expect(try decode(RawEvent.data(payload: []))?.header.comm == "nginx")
        // Another process using the connection (a descriptor passed on): its own facts, its own pid per event.
        #expect(try decode(named("worker", pid: 5000)) == nil)
        let passed = try #require(try decode(RawEvent.data(payload: [], pid: 5000)))
        #expect(passed.header.comm == "worker" && passed.header.pid == 5000 && passed.header.tid == 5001)
        #expect(passed.header.tuple.local.description == "10.0.0.1:80" && passed.header.connectionID == 9)
    }

    @Test("a container is named once per process, namespace and cgroup until the names are forgotten; cgroup 0 every time")
    func containerNames() throws {
        var decoder = EventDecoder()
        var asked: [(UInt32, UInt32, UInt64)] = []
        var answer = "web"
        func decode(_ bytes: [UInt8]) throws -> ProbeEvent? {
            try bytes.withUnsafeBytes { raw in
                try decoder.decode(raw) { pid, netns, cgroupID in
                    asked.append((pid, netns, cgroupID))
                    return ContainerLabel(name: "\(answer)-\(netns)-\(cgroupID)", id: cgroupID == 10 ? "3f2a9c1b7d4e" : nil)
                }
            }
        }
        /// The container of a data event of a process in `netns` and `cgroup`, its facts just sent.
        func container(netns: UInt32, cgroup: UInt64, pid: UInt32 = 4242) throws -> String? {
            let facts = RawEvent.facts { h in
                h.netns = netns
                h.cgroup_id = cgroup
                h.pid = pid
            }
            #expect(try decode(facts) == nil)
            let event = try #require(try decode(RawEvent.data(payload: [], pid: pid)))
            #expect(event.header.containerID == (cgroup == 10 ? "3f2a9c1b7d4e" : nil))
            return event.header.container
        }
        #expect(try container(netns: 1, cgroup: 10) == "web-1-10")
        #expect(try container(netns: 2, cgroup: 10) == "web-2-10")
        #expect(try container(netns: 1, cgroup: 10) == "web-1-10")
        #expect(try container(netns: 2, cgroup: 10) == "web-2-10")
        #expect(asked.count == 2)
        // Same slot, other key: asked, and the old name is not handed out for it; both are kept.
        #expect(try container(netns: 1 ^ 16, cgroup: 10 ^ 16) == "web-17-26")
        #expect(try container(netns: 1, cgroup: 10) == "web-1-10")
        #expect(try container(netns: 1 ^ 16, cgroup: 10 ^ 16) == "web-17-26")
        #expect(asked.count == 3)
        #expect(try container(netns: 5, cgroup: 0, pid: 1) == "web-5-0")
        #expect(try container(netns: 5, cgroup: 0, pid: 2) == "web-5-0")
        #expect(asked.count == 5 && asked[4].0 == 2)
        // Another process in the same namespace and cgroup v2 is asked for: with
        // cgroup v1 controllers, a container need not have a cgroup v2 of its own.
        #expect(try container(netns: 1, cgroup: 10, pid: 7) == "web-1-10")
        #expect(asked.count == 6 && asked[5].0 == 7)
        answer = "renamed"
        #expect(try container(netns: 2, cgroup: 10) == "web-2-10")
        decoder.forgetContainerNames()
        #expect(try container(netns: 2, cgroup: 10) == "renamed-2-10")
        // Facts kept from before the names were forgotten are named again at the connection's next data event.
        answer = "again"
        decoder.forgetContainerNames()
        #expect(try decode(RawEvent.data(payload: []))?.header.container == "again-2-10")
        #expect(asked.count == 8)
    }

    @Test("a payload shorter than the length moved is truncated, and says so")
    func truncated() throws {
        guard case .data(let d) = try decode(RawEvent.data(payload: [1, 2, 3], length: 100_000)) else {
            Issue.record("not a data event"); return
        }
        #expect(d.isTruncated && d.length == 100_000 && d.payload == [1, 2, 3])
    }

    @Test("sendfile's missing payload is flagged")
    func payloadUnavailable() throws {
        guard case .data(let d) = try decode(RawEvent.data(payload: [], length: 5000, flags: UInt16(PT_DATA_NO_PAYLOAD.rawValue))) else {
            Issue.record("not a data event"); return
        }
        #expect(d.payloadUnavailable && d.isTruncated)
    }

    @Test("a record cut short is an error, not a crash")
    func cutShort() throws {
        let full = RawEvent.data(payload: Array(repeating: 0x41, count: 64))
        for size in [0, 3, 50, EventDecoder.dataEventSize - 1] {
            #expect(throws: EventDecodingError.self) { try decode(Array(full.prefix(size))) }
        }
        #expect(throws: EventDecodingError.payloadLengthMismatch(captured: 64, available: 10)) {
            try decode(Array(full.prefix(EventDecoder.dataEventSize + 10)))
        }
    }

    @Test("an unknown kind is an error")
    func unknownKind() throws {
        var h = RawEvent.header(kind: PT_EVENT_STATE)
        h.kind = 99
        #expect(throws: EventDecodingError.unknownKind(99)) { try decode(RawEvent.bytes(h)) }
    }

    @Test("retransmit, reset and state events decode")
    func tcpEvents() throws {
        var r = pt_tcp_event()
        r.hdr = RawEvent.header(kind: PT_EVENT_RETRANSMIT)
        r.segs = 3
        r.seq = 12345
        r.state = 1
        guard case .retransmit(let re) = try decode(RawEvent.bytes(r)) else { Issue.record("not a retransmit"); return }
        #expect(re.segments == 3 && re.sequence == 12345 && re.state == .established && re.error == 0)

        r.hdr = RawEvent.header(kind: PT_EVENT_RESET)
        r.reset = UInt16(PT_RESET_RECEIVED.rawValue)
        guard case .reset(let reset) = try decode(RawEvent.bytes(r)) else { Issue.record("not a reset"); return }
        #expect(!reset.sent)

        var s = pt_state_event()
        s.hdr = RawEvent.header(kind: PT_EVENT_STATE)
        s.old_state = 2
        s.new_state = 1
        guard case .stateChanged(let st) = try decode(RawEvent.bytes(s)) else { Issue.record("not a state change"); return }
        #expect(st.oldState == .synSent && st.newState == .established)
    }

    @Test("random bytes never crash the decoder")
    func randomBytes() {
        var rng = SplitMix64(seed: 0x5eed)
        var decoder = EventDecoder()
        for _ in 0..<20_000 {
            var bytes = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if bytes.count >= 4, rng.next() % 2 == 0 { bytes[0] = UInt8(1 + rng.next() % 9); bytes[1] = 0; bytes[2] = 0; bytes[3] = 0 }
            if bytes.count >= 32, rng.next() % 2 == 0 { bytes[16] = 9; for i in 17..<24 { bytes[i] = 0 } } // one connection id
            _ = try? bytes.withUnsafeBytes { try decoder.decode($0) }
        }
    }
}
