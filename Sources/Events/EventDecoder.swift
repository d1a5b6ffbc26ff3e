import CPipetraceEvents

/// Why a ring-buffer record could not be turned into a `ProbeEvent`.
public enum EventDecodingError: Error, Equatable, Sendable {
    /// Shorter than the fixed part of its kind.
    case truncated(kind: UInt32, size: Int)
    case unknownKind(UInt32)
    /// The payload length in the record disagrees with its size.
    case payloadLengthMismatch(captured: UInt32, available: Int)
}

/// Turns the bytes of one ring-buffer record (a struct from bpf/pipetrace.h)
/// into a `ProbeEvent`. Pure: no kernel needed, so it is tested with bytes.
public enum EventDecoder {
    /// Size of the fixed part of a data event; the payload follows it.
    public static let dataEventSize = MemoryLayout<pt_data_event>.size

    /// `naming` fills in each event's `container` as the header is built, so
    /// the event is never taken apart again to name it (this runs per event).
    public static func decode(_ bytes: UnsafeRawBufferPointer,
                              naming: (EventHeader) -> String? = { _ in nil }) throws(EventDecodingError) -> ProbeEvent {
        guard bytes.count >= MemoryLayout<pt_header>.size else {
            throw .truncated(kind: 0, size: bytes.count)
        }
        let kind = bytes.loadUnaligned(as: UInt32.self)
        switch Int(kind) {
        case Int(PT_EVENT_DATA.rawValue):
            let raw: pt_data_event = try load(bytes, kind: kind)
            let available = bytes.count - dataEventSize
            guard Int(raw.captured) <= available, UInt64(raw.captured) <= raw.len else {
                throw .payloadLengthMismatch(captured: raw.captured, available: available)
            }
            let source = UnsafeRawBufferPointer(rebasing: bytes[dataEventSize..<(dataEventSize + Int(raw.captured))])
            // One memcpy, not a byte-by-byte copy: this runs for every data event.
            let payload = [UInt8](unsafeUninitializedCapacity: source.count) { room, count in
                if let to = room.baseAddress, let from = source.baseAddress {
                    UnsafeMutableRawPointer(to).copyMemory(from: from, byteCount: source.count)
                }
                count = source.count
            }
            return .data(DataEvent(
                header: header(raw.hdr, naming),
                enterTimestamp: raw.enter_ts,
                direction: raw.direction == UInt16(PT_DIR_EGRESS.rawValue) ? .egress : .ingress,
                syscall: syscall(raw.syscall),
                fd: Int32(bitPattern: raw.fd),
                role: role(raw.role),
                length: raw.len,
                payload: payload,
                payloadUnavailable: raw.flags & UInt16(PT_DATA_NO_PAYLOAD.rawValue) != 0,
                readFault: raw.flags & UInt16(PT_DATA_READ_FAULT.rawValue) != 0,
                entryUnseen: raw.flags & UInt16(PT_DATA_ENTRY_UNSEEN.rawValue) != 0))
        case Int(PT_EVENT_CONN_OPEN.rawValue), Int(PT_EVENT_CONN_CLOSE.rawValue):
            let raw: pt_conn_event = try load(bytes, kind: kind)
            let event = ConnectionEvent(header: header(raw.hdr, naming), fd: Int32(bitPattern: raw.fd),
                                        role: role(raw.role), result: raw.ret)
            return kind == PT_EVENT_CONN_OPEN.rawValue ? .connectionOpened(event) : .connectionClosed(event)
        case Int(PT_EVENT_STATE.rawValue):
            let raw: pt_state_event = try load(bytes, kind: kind)
            return .stateChanged(StateChangeEvent(header: header(raw.hdr, naming),
                                                  oldState: TCPState(kernel: raw.old_state),
                                                  newState: TCPState(kernel: raw.new_state)))
        case Int(PT_EVENT_RETRANSMIT.rawValue):
            let raw: pt_tcp_event = try load(bytes, kind: kind)
            return .retransmit(RetransmitEvent(header: header(raw.hdr, naming), segments: raw.segs, sequence: raw.seq,
                                               state: TCPState(kernel: raw.state), error: raw.err))
        case Int(PT_EVENT_RESET.rawValue):
            let raw: pt_tcp_event = try load(bytes, kind: kind)
            return .reset(ResetEvent(header: header(raw.hdr, naming), sent: raw.reset == UInt16(PT_RESET_SENT.rawValue),
                                     state: TCPState(kernel: raw.state)))
        case Int(PT_EVENT_PACKET.rawValue):
            let raw: pt_packet_event = try load(bytes, kind: kind)
            let start = MemoryLayout<pt_packet_event>.size
            let available = bytes.count - start
            guard Int(raw.captured) <= available, raw.captured <= raw.len else {
                throw .payloadLengthMismatch(captured: raw.captured, available: available)
            }
            let source = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + Int(raw.captured))])
            return .packet(PacketEvent(
                header: header(raw.hdr, naming),
                direction: raw.direction == UInt16(PT_DIR_EGRESS.rawValue) ? .egress : .ingress,
                interfaceIndex: raw.ifindex,
                length: raw.len,
                bytes: [UInt8](source)))
        default:
            throw .unknownKind(kind)
        }
    }

    private static func load<T>(_ bytes: UnsafeRawBufferPointer, kind: UInt32) throws(EventDecodingError) -> T {
        guard bytes.count >= MemoryLayout<T>.size else { throw .truncated(kind: kind, size: bytes.count) }
        return bytes.loadUnaligned(as: T.self)
    }

    private static func header(_ h: pt_header, _ naming: (EventHeader) -> String?) -> EventHeader {
        var h = h
        let comm = withUnsafeBytes(of: &h.comm) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        var header = EventHeader(pid: h.pid, tid: h.tid, comm: comm, netns: h.netns, cgroupID: h.cgroup_id,
                                 connectionID: h.conn_id, timestamp: h.timestamp, tuple: tuple(h.tuple))
        header.container = naming(header)
        return header
    }

    private static func tuple(_ t: pt_tuple) -> SocketTuple {
        var t = t
        let isV4 = t.family == 2
        func address(_ raw: UnsafeRawBufferPointer) -> IPAddress { IPAddress(raw: raw, isIPv4: isV4) }
        let local = withUnsafeBytes(of: &t.saddr) { address($0) }
        let remote = withUnsafeBytes(of: &t.daddr) { address($0) }
        return SocketTuple(local: Endpoint(address: local, port: t.sport),
                           remote: Endpoint(address: remote, port: t.dport))
    }

    private static func role(_ raw: UInt16) -> Role {
        switch UInt32(raw) {
        case PT_ROLE_CLIENT.rawValue: .client
        case PT_ROLE_SERVER.rawValue: .server
        default: .unknown
        }
    }

    private static func syscall(_ raw: UInt16) -> Syscall {
        // enum pt_syscall numbers them from 1 in Syscall's declaration order.
        let all = Syscall.allCases
        let index = Int(raw) - 1
        return all.indices.contains(index) ? all[index] : .read
    }
}
