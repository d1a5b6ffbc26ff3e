import Events

/// Joins the bytes a sendfile() put on the wire (seen at cgroup egress, as
/// PT_EVENT_SENDFILE_BYTES records) to the sendfile's data event, which
/// arrives after them. Pure: records in, completed events out.
struct SendfileAssembler {
    /// The sendfile in progress touched last: usually the only one, so most
    /// records and events find their bytes without hashing a connection id.
    private var current: (connectionID: UInt64, bytes: [UInt8])?
    /// Contiguous bytes from offset 0 of the other sendfiles in progress, per connection.
    private var pending: [UInt64: [UInt8]] = [:]
    /// More connections than this sending files at once means records were lost: start over.
    private let maximumPending = 4096

    /// Bytes of the sendfile in progress on `connectionID`, starting `offset` bytes into it.
    mutating func add(connectionID: UInt64, offset: Int, bytes: UnsafeRawBufferPointer) {
        guard connectionID != 0 else { return }
        if current?.connectionID != connectionID {
            if let current {
                if pending.count >= maximumPending { pending.removeAll() }
                pending[current.connectionID] = current.bytes
            }
            current = pending.removeValue(forKey: connectionID).map { (connectionID, $0) }
        }
        guard current != nil else {
            guard offset == 0 else { return } // the start was not seen: nothing contiguous to keep
            current = (connectionID, [UInt8](bytes))
            return
        }
        let have = current!.bytes.count
        // Segments arrive in order; a retransmission repeats bytes already held.
        guard offset <= have, offset + bytes.count > have else { return }
        current!.bytes.append(contentsOf: bytes[(have - offset)...])
    }

    /// Completes a sendfile data event with the bytes seen for it, up to `cap`;
    /// other events pass unchanged.
    mutating func complete(_ event: inout DataEvent, cap: Int) {
        guard event.syscall == .sendfile else { return }
        var bytes: [UInt8]
        if current?.connectionID == event.header.connectionID, let taken = current.take() {
            bytes = taken.bytes
        } else {
            bytes = pending.removeValue(forKey: event.header.connectionID) ?? []
        }
        // Cut in place: the bytes held become the payload, not copied again.
        bytes.removeSubrange(min(bytes.count, cap, Int(clamping: event.length))...)
        event.payload = bytes
        event.payloadUnavailable = event.payload.isEmpty && event.length > 0
    }
}
