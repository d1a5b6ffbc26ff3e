internal import CPipetraceEvents
import Events

/// Turns ring-buffer records into events for the handler of the `poll` or
/// `drain` in progress: decodes them, names their container and joins a
/// sendfile's bytes to its event. The probe keeps it behind a pointer it owns,
/// so this per-event path changes it in place without the run-time checks of
/// exclusive access that a class's stored properties would cost per event.
struct EventReceiver {
    /// The caller's handler while `poll` or `drain` runs: each event goes to it
    /// straight from the ring buffer, not through a list of decoded events.
    var handler: ((ProbeEvent) -> Void)?
    private(set) var malformed: UInt64 = 0
    private(set) var delivered: UInt64 = 0

    private var sendfiles = SendfileAssembler()
    private var decoder = EventDecoder()
    /// Events since the resolver was last asked whether names are due to be forgotten.
    private var eventsSinceNameCheck = 0
    private let containers: ContainerResolver
    private let payloadCap: Int
    /// Whether sendfile's bytes come (ProbeConfiguration.sendfileBytes); without them a
    /// sendfile's event is complete as decoded: its length, its payload unavailable.
    private let sendfileBytes: Bool

    init(containers: ContainerResolver, payloadCap: Int, sendfileBytes: Bool) {
        self.containers = containers
        self.payloadCap = payloadCap
        self.sendfileBytes = sendfileBytes
    }

    mutating func receive(_ bytes: UnsafeRawBufferPointer) {
        let kind = bytes.count >= 4 ? bytes.loadUnaligned(as: UInt32.self) : 0
        if kind == PT_EVENT_SENDFILE_BYTES.rawValue, bytes.count >= MemoryLayout<pt_sendfile_bytes_event>.size {
            let raw = bytes.loadUnaligned(as: pt_sendfile_bytes_event.self)
            let start = MemoryLayout<pt_sendfile_bytes_event>.size
            guard start + Int(raw.captured) <= bytes.count else { malformed += 1; return }
            sendfiles.add(connectionID: raw.hdr.conn_id, offset: Int(raw.offset),
                          bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<start + Int(raw.captured)]))
            return
        }
        eventsSinceNameCheck += 1
        if eventsSinceNameCheck >= 4096 {
            eventsSinceNameCheck = 0
            if containers.forgetIfDue() { decoder.forgetContainerNames() }
        }
        let event: ProbeEvent
        do {
            guard let decoded = try decoder.decode(bytes, naming: { [containers] pid, netns, cgroupID in
                containers.label(pid: pid, netns: netns, cgroupID: cgroupID)
            }) else { return } // a connection's facts, kept by the decoder
            event = decoded
        } catch {
            malformed += 1
            return
        }
        delivered += 1
        // The syscall is read from the record, not the event: taking a data event
        // apart and rebuilding it copies it twice, and only a sendfile needs it.
        if sendfileBytes, kind == PT_EVENT_DATA.rawValue, bytes.loadUnaligned(fromByteOffset: Self.syscallOffset, as: UInt16.self)
            == UInt16(PT_SYS_SENDFILE.rawValue), case .data(var data) = event {
            sendfiles.complete(&data, cap: payloadCap)
            handler?(.data(data))
        } else {
            handler?(event)
        }
    }

    private static let syscallOffset = MemoryLayout<pt_data_event>.offset(of: \pt_data_event.syscall)!
}
