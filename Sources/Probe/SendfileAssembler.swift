import Events

/// Joins the bytes a sendfile() put on the wire (seen at cgroup egress, as
/// PT_EVENT_SENDFILE_BYTES records) to the sendfile's data event, which
/// arrives after them. Pure: records in, completed events out.
struct SendfileAssembler {
    /// Contiguous bytes from offset 0 of the sendfile in progress, per connection.
    private var pending: [UInt64: [UInt8]] = [:]
    /// More connections than this sending files at once means records were lost: start over.
    private let maximumPending = 4096

    /// Bytes of the sendfile in progress on `connectionID`, starting `offset` bytes into it.
    mutating func add(connectionID: UInt64, offset: Int, bytes: UnsafeRawBufferPointer) {
        guard connectionID != 0 else { return }
        if pending[connectionID] == nil {
            guard offset == 0 else { return } // the start was not seen: nothing contiguous to keep
            if pending.count >= maximumPending { pending.removeAll() }
        }
        let have = pending[connectionID, default: []].count
        // Segments arrive in order; a retransmission repeats bytes already held.
        guard offset <= have, offset + bytes.count > have else { return }
        pending[connectionID, default: []].append(contentsOf: bytes[(have - offset)...])
    }

    /// Completes a sendfile data event with the bytes seen for it, up to `cap`;
    /// other events pass unchanged.
    mutating func complete(_ event: inout DataEvent, cap: Int) {
        guard event.syscall == .sendfile else { return }
        let bytes = pending.removeValue(forKey: event.header.connectionID) ?? []
        let count = min(bytes.count, cap, Int(clamping: event.length))
        event.payload = Array(bytes.prefix(count))
        event.payloadUnavailable = event.payload.isEmpty && event.length > 0
    }
}
