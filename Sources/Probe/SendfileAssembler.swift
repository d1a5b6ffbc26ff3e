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
    /// (One hash of the connection id per record: this runs for every segment a sendfile sends.)
    mutating func add(connectionID: UInt64, offset: Int, bytes: UnsafeRawBufferPointer) {
        guard connectionID != 0 else { return }
        guard let index = pending.index(forKey: connectionID) else {
            guard offset == 0 else { return } // the start was not seen: nothing contiguous to keep
            if pending.count >= maximumPending { pending.removeAll() }
            pending[connectionID] = [UInt8](bytes)
            return
        }
        let have = pending.values[index].count
        // Segments arrive in order; a retransmission repeats bytes already held.
        guard offset <= have, offset + bytes.count > have else { return }
        pending.values[index].append(contentsOf: bytes[(have - offset)...])
    }

    /// Completes a sendfile data event with the bytes seen for it, up to `cap`;
    /// other events pass unchanged.
    mutating func complete(_ event: inout DataEvent, cap: Int) {
        guard event.syscall == .sendfile else { return }
        var bytes = pending.removeValue(forKey: event.header.connectionID) ?? []
        // Cut in place: the bytes held become the payload, not copied again.
        bytes.removeSubrange(min(bytes.count, cap, Int(clamping: event.length))...)
        event.payload = bytes
        event.payloadUnavailable = event.payload.isEmpty && event.length > 0
    }
}
