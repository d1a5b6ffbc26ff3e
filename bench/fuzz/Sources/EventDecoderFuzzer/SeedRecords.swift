import CPipetraceEvents
import Glibc

/// The seed corpus: one input per kind of record the probe sends, built from
/// bpf/pipetrace.h's structs (so their layout is the kernel side's), and one
/// input with all of them in a row. Written by `PIPETRACE_FUZZ_WRITE_SEEDS=dir`.
enum SeedRecords {
    static func write(to directory: String) -> CInt {
        let request = Array("GET /metrics?api_key=secret HTTP/1.1\r\nHost: lb\r\nAuthorization: Bearer abc\r\n\r\n".utf8)
        let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        // An IPv4 TCP packet (ACK|PSH) carrying the request.
        var packet: [UInt8] = [0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
                               0x9c, 0x40, 0x1f, 0x90, 0, 0, 0x03, 0xe9, 0, 0, 0x13, 0x89, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]
        packet += request
        packet[2] = UInt8(packet.count >> 8)
        packet[3] = UInt8(packet.count & 0xff)
        let seeds: [(String, [[UInt8]])] = [
            ("data-request", [facts(v6: false), data(request, direction: PT_DIR_EGRESS, syscall: PT_SYS_WRITE)]),
            ("data-response-v6", [facts(v6: true), data(response, direction: PT_DIR_INGRESS, syscall: PT_SYS_RECVMSG)]),
            ("open-close", [connection(PT_EVENT_CONN_OPEN), connection(PT_EVENT_CONN_CLOSE)]),
            ("state", [state()]),
            ("retransmit-reset", [tcp(PT_EVENT_RETRANSMIT), tcp(PT_EVENT_RESET)]),
            ("packet", [packetEvent(packet)]),
        ]
        for (name, records) in seeds + [("all", seeds.flatMap(\.1))] {
            var file: [UInt8] = []
            for r in records { file += [UInt8(r.count & 0xff), UInt8(r.count >> 8)] + r }
            guard let f = fopen(directory + "/" + name, "wb") else { return 1 }
            fwrite(file, 1, file.count, f)
            fclose(f)
        }
        return 0
    }

    static func header(_ kind: pt_event_kind, v6: Bool = false) -> pt_header {
        var h = pt_header()
        h.kind = kind.rawValue
        h.pid = 4242
        h.tid = 4243
        h.netns = 4_026_531_840
        h.timestamp = 1_000_000_000
        h.cgroup_id = 7
        h.conn_id = 99
        withUnsafeMutableBytes(of: &h.comm) { $0.copyBytes(from: Array("curl".utf8)) }
        h.tuple.family = v6 ? 10 : 2
        withUnsafeMutableBytes(of: &h.tuple.saddr) { $0.copyBytes(from: v6 ? [0xfd] + [UInt8](repeating: 0, count: 14) + [2] : [10, 0, 0, 2]) }
        withUnsafeMutableBytes(of: &h.tuple.daddr) { $0.copyBytes(from: v6 ? [0xfd] + [UInt8](repeating: 0, count: 14) + [1] : [10, 0, 0, 1]) }
        h.tuple.sport = 40000
        h.tuple.dport = 8080
        return h
    }

    static func bytes<T>(of value: T, then tail: [UInt8] = []) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) } + tail
    }

    /// What the data events of connection 99 leave out, sent before them.
    static func facts(v6: Bool) -> [UInt8] {
        var e = pt_facts_event()
        e.hdr = header(PT_EVENT_CONN_FACTS, v6: v6)
        return bytes(of: e)
    }

    static func data(_ payload: [UInt8], direction: pt_direction, syscall: pt_syscall) -> [UInt8] {
        var e = pt_data_event()
        e.kind = PT_EVENT_DATA.rawValue
        e.pid = 4242
        e.tid = 4243
        e.conn_id = 99
        e.timestamp = 1_000_000_000
        e.enter_ts = e.timestamp - 1000
        e.len = UInt64(payload.count)
        e.captured = UInt32(payload.count)
        e.fd = 5
        e.direction = UInt16(direction.rawValue)
        e.syscall = UInt16(syscall.rawValue)
        e.role = UInt16(PT_ROLE_CLIENT.rawValue)
        return bytes(of: e, then: payload)
    }

    static func connection(_ kind: pt_event_kind) -> [UInt8] {
        var e = pt_conn_event()
        e.hdr = header(kind)
        e.fd = 5
        e.role = UInt16(PT_ROLE_SERVER.rawValue)
        return bytes(of: e)
    }

    static func state() -> [UInt8] {
        var e = pt_state_event()
        e.hdr = header(PT_EVENT_STATE)
        e.old_state = 1
        e.new_state = 8
        return bytes(of: e)
    }

    static func tcp(_ kind: pt_event_kind) -> [UInt8] {
        var e = pt_tcp_event()
        e.hdr = header(kind)
        e.segs = 1
        e.state = 1
        e.reset = UInt16(PT_RESET_SENT.rawValue)
        e.seq = 1001
        return bytes(of: e)
    }

    static func packetEvent(_ packet: [UInt8]) -> [UInt8] {
        var e = pt_packet_event()
        e.hdr = header(PT_EVENT_PACKET)
        e.len = UInt32(packet.count)
        e.captured = UInt32(packet.count)
        e.ifindex = 3
        e.direction = UInt16(PT_DIR_EGRESS.rawValue)
        return bytes(of: e, then: packet)
    }
}
