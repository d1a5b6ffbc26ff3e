import CPipetraceEvents

/// Why a ring-buffer record could not be turned into a `ProbeEvent`.
public enum EventDecodingError: Error, Equatable, Sendable {
    /// Shorter than the fixed part of its kind.
    case truncated(kind: UInt32, size: Int)
    case unknownKind(UInt32)
    /// The payload length in the record disagrees with its size.
    case payloadLengthMismatch(captured: UInt32, available: Int)
    /// A data event of a connection whose facts (PT_EVENT_CONN_FACTS) were
    /// not received, or were forgotten as too many connections closed after it.
    case connectionFactsMissing(connectionID: UInt64)
}

/// Turns the bytes of one ring-buffer record (a struct from bpf/pipetrace.h)
/// into a `ProbeEvent`. Pure: no kernel needed, so it is tested with bytes.
///
/// Records are decoded in the ring buffer's order by one decoder: a data
/// event carries only its connection's id, and the decoder completes it with
/// the facts (process name, cgroup, namespace, addresses) that the
/// connection's last PT_EVENT_CONN_FACTS record gave (`ConnectionFacts`).
///
/// A decoder kept across records (the probe's) reuses what it made for the
/// last ones, since this runs for every event: a process's name is decoded
/// once while it stays the same, a container is named once until
/// `forgetContainerNames`, and the payload buffer is reused once the
/// previous event has let go of it.
public struct EventDecoder: Sendable {
    /// Size of the fixed part of a data event; the payload follows it.
    public static let dataEventSize = MemoryLayout<pt_data_event>.size

    /// A process name as decoded last for a pid.
    private struct ProcessName {
        var pid: UInt32 = 0
        var comm: (UInt64, UInt64) = (0, 0)
        var name = ""
    }

    /// By pid, in pairs of slots: a few processes make most events.
    private var names = [ProcessName](repeating: ProcessName(), count: 64)

    /// A container as `naming` gave it for a process, namespace and cgroup.
    private struct ContainerName {
        var pid: UInt32 = 0
        var netns: UInt32 = 0
        var cgroupID: UInt64 = 0
        var label: ContainerLabel?

        func names(_ h: pt_header) -> Bool { cgroupID == h.cgroup_id && netns == h.netns && pid == h.pid }
    }

    /// By process, namespace and cgroup, in pairs of slots (cgroup 0 is never
    /// kept). The pid is part of the key because on hosts with cgroup v1
    /// controllers a container can share its cgroup v2 with the host's processes.
    private var containerNames = [ContainerName](repeating: ContainerName(), count: 16)
    private var payloadBuffer: [UInt8] = []
    private var facts = ConnectionFacts()
    /// Counts `forgetContainerNames`: a connection's facts named under an older one are named again.
    private var namingGeneration: UInt32 = 0

    public init() {}

    /// Names the container of a process from its pid, network namespace and cgroup id.
    public typealias Naming = (_ pid: UInt32, _ netns: UInt32, _ cgroupID: UInt64) -> ContainerLabel?

    /// `naming` fills in each event's `container` as the header is built, so
    /// the event is never taken apart again to name it (this runs per event).
    /// Nil for a record that only informs the decoder (a connection's facts).
    public mutating func decode(_ bytes: UnsafeRawBufferPointer,
                                naming: Naming = { _, _, _ in nil }) throws(EventDecodingError) -> ProbeEvent? {
        guard bytes.count >= MemoryLayout<UInt32>.size else {
            throw .truncated(kind: 0, size: bytes.count)
        }
        let kind = bytes.loadUnaligned(as: UInt32.self)
        switch Int(kind) {
        case Int(PT_EVENT_DATA.rawValue):
            let raw: pt_data_event = try load(bytes, kind: kind)
            let available = bytes.count - Self.dataEventSize
            guard Int(raw.captured) <= available, UInt64(raw.captured) <= raw.len else {
                throw .payloadLengthMismatch(captured: raw.captured, available: available)
            }
            let header = try dataHeader(raw, naming)
            let source = UnsafeRawBufferPointer(rebasing: bytes[Self.dataEventSize..<(Self.dataEventSize + Int(raw.captured))])
            // The last event's buffer when nothing holds it any more (else a new one): no allocation per event.
            var payload: [UInt8] = []
            swap(&payload, &payloadBuffer)
            payload.removeAll(keepingCapacity: true)
            payload.append(contentsOf: source)
            payloadBuffer = payload
            return .data(DataEvent(
                header: header,
                enterTimestamp: raw.enter_ts,
                direction: raw.direction == UInt16(PT_DIR_EGRESS.rawValue) ? .egress : .ingress,
                syscall: Self.syscall(raw.syscall),
                fd: Int32(bitPattern: raw.fd),
                role: Self.role(raw.role),
                length: raw.len,
                payload: payload,
                payloadUnavailable: raw.flags & UInt16(PT_DATA_NO_PAYLOAD.rawValue) != 0,
                readFault: raw.flags & UInt16(PT_DATA_READ_FAULT.rawValue) != 0,
                entryUnseen: raw.flags & UInt16(PT_DATA_ENTRY_UNSEEN.rawValue) != 0,
                tls: raw.flags & UInt16(PT_DATA_TLS.rawValue) != 0))
        case Int(PT_EVENT_CONN_FACTS.rawValue):
            let raw: pt_facts_event = try load(bytes, kind: kind)
            facts.keep(header(raw.hdr, naming), generation: namingGeneration)
            return nil
        case Int(PT_EVENT_CONN_OPEN.rawValue), Int(PT_EVENT_CONN_CLOSE.rawValue):
            let raw: pt_conn_event = try load(bytes, kind: kind)
            let event = ConnectionEvent(header: header(raw.hdr, naming), fd: Int32(bitPattern: raw.fd),
                                        role: Self.role(raw.role), result: raw.ret)
            return kind == PT_EVENT_CONN_OPEN.rawValue ? .connectionOpened(event) : .connectionClosed(event)
        case Int(PT_EVENT_STATE.rawValue):
            let raw: pt_state_event = try load(bytes, kind: kind)
            let newState = TCPState(kernel: raw.new_state)
            if newState == .close { facts.close(raw.hdr.conn_id) }
            return .stateChanged(StateChangeEvent(header: header(raw.hdr, naming),
                                                  oldState: TCPState(kernel: raw.old_state),
                                                  newState: newState))
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
                bytes: [UInt8](source),
                isDelivery: raw.flags & UInt16(PT_PACKET_DELIVERY.rawValue) != 0))
        default:
            throw .unknownKind(kind)
        }
    }

    private func load<T>(_ bytes: UnsafeRawBufferPointer, kind: UInt32) throws(EventDecodingError) -> T {
        guard bytes.count >= MemoryLayout<T>.size else { throw .truncated(kind: kind, size: bytes.count) }
        return bytes.loadUnaligned(as: T.self)
    }

    /// Makes `naming` ask again for every namespace and cgroup (names change: a namespace renamed, a container started).
    public mutating func forgetContainerNames() {
        for i in containerNames.indices { containerNames[i] = ContainerName() }
        namingGeneration &+= 1
    }

    /// A data event's header: its connection's facts, with the process, thread and time of the event.
    @inline(__always)
    private mutating func dataHeader(_ raw: pt_data_event, _ naming: Naming) throws(EventDecodingError) -> EventHeader {
        guard let entry = facts.use(raw.conn_id) else { throw .connectionFactsMissing(connectionID: raw.conn_id) }
        var header = entry.header
        if entry.generation != namingGeneration {
            let label = naming(header.pid, header.netns, header.cgroupID)
            header.container = label?.name
            header.containerID = label?.id
            facts.keep(header, generation: namingGeneration)
        }
        header.pid = raw.pid
        header.tid = raw.tid
        header.timestamp = raw.timestamp
        return header
    }

    @inline(__always)
    private mutating func header(_ h: pt_header, _ naming: Naming) -> EventHeader {
        let label = containerLabel(h, naming)
        return EventHeader(connectionID: h.conn_id, pid: h.pid, tid: h.tid, comm: processName(h), netns: h.netns,
                           cgroupID: h.cgroup_id, timestamp: h.timestamp, tuple: Self.tuple(h.tuple),
                           container: label?.name, containerID: label?.id)
    }

    private mutating func containerLabel(_ h: pt_header, _ naming: Naming) -> ContainerLabel? {
        guard h.cgroup_id != 0 else { return naming(h.pid, h.netns, h.cgroup_id) }
        let slot = Int(truncatingIfNeeded: h.cgroup_id ^ UInt64(h.netns) ^ UInt64(h.pid) &* 0x9E37_79B9) & (containerNames.count - 1)
        if containerNames[slot].names(h) { return containerNames[slot].label }
        if containerNames[slot ^ 1].names(h) { return containerNames[slot ^ 1].label }
        let label = naming(h.pid, h.netns, h.cgroup_id)
        containerNames[slot ^ 1] = containerNames[slot]
        containerNames[slot] = ContainerName(pid: h.pid, netns: h.netns, cgroupID: h.cgroup_id, label: label)
        return label
    }

    /// The header's comm as a string, decoded again only when it changed for the pid.
    private mutating func processName(_ h: pt_header) -> String {
        var h = h
        let comm = withUnsafeBytes(of: &h.comm) { raw in
            (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
        let slot = Int(h.pid % UInt32(names.count))
        if h.pid != 0 {
            if names[slot].pid == h.pid && names[slot].comm == comm { return names[slot].name }
            if names[slot ^ 1].pid == h.pid && names[slot ^ 1].comm == comm { return names[slot ^ 1].name }
        }
        let name = withUnsafeBytes(of: &h.comm) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        // Two ways: two busy processes whose pids share a slot still both stay.
        names[slot ^ 1] = names[slot]
        names[slot] = ProcessName(pid: h.pid, comm: comm, name: name)
        return name
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

    /// enum pt_syscall numbers them from 1 in Syscall's declaration order.
    /// Made once: `allCases` builds a new array at every use (this runs per data event).
    private static let syscalls = Syscall.allCases

    private static func syscall(_ raw: UInt16) -> Syscall {
        let index = Int(raw) - 1
        return syscalls.indices.contains(index) ? syscalls[index] : .read
    }
}
