import Events
import Redaction
import Report

/// How `pipetrace events` prints one event: a JSON object per line
/// (stable field names, for scripts) or a line for people.
public struct EventFormatter {
    public let wallClock: WallClock
    /// Masks credentials in payloads (`Redactor.disabled` with --no-redact).
    public var redactor = Redactor()

    public init(wallClock: WallClock, redactor: Redactor = Redactor()) {
        self.wallClock = wallClock
        self.redactor = redactor
    }

    /// The event as one JSON line.
    public func json(_ event: ProbeEvent) -> [UInt8] {
        var w = JSONWriter()
        writeJSON(event, into: &w)
        return w.bytes
    }

    /// The event as one JSON line appended to `w`: a writer reused across
    /// events costs no allocation per event.
    public func writeJSON(_ event: ProbeEvent, into w: inout JSONWriter) {
        let h = event.header
        w.beginObject()
        w.field("type", event.kindName)
        w.field("time", unixNanoseconds: wallClock.unixNanoseconds(h.timestamp))
        w.field("timestamp_ns", h.timestamp)
        w.field("pid", h.pid)
        w.field("tid", h.tid)
        w.field("comm", h.comm)
        w.field("container", h.container)
        w.field("container_id", h.containerID)
        w.field("netns", h.netns)
        w.field("cgroup_id", h.cgroupID)
        w.field("conn_id", h.connectionID)
        w.field("local", endpoint: h.tuple.local)
        w.field("remote", endpoint: h.tuple.remote)
        switch event {
        case .data(let d):
            w.field("syscall", d.syscall.rawValue)
            w.field("direction", d.direction.rawValue)
            w.field("role", d.role.rawValue)
            w.field("fd", d.fd)
            w.field("enter_ns", d.enterTimestamp)
            w.field("len", d.length)
            w.field("captured", d.payload.count)
            w.field("truncated", d.isTruncated)
            if d.payloadUnavailable { w.field("payload_unavailable", true) }
            if d.readFault { w.field("read_fault", true) }
            if d.entryUnseen { w.field("entry_unseen", true) }
            if d.tls { w.field("tls", true) }
            w.payloadField("payload", redactor.redact(d.payload))
        case .connectionOpened(let c), .connectionClosed(let c):
            w.field("role", c.role.rawValue)
            w.field("fd", c.fd)
            if c.result != 0 { w.field("result", c.result) }
        case .stateChanged(let s):
            w.field("old_state", s.oldState.name)
            w.field("new_state", s.newState.name)
        case .retransmit(let r):
            w.field("segments", r.segments)
            w.field("seq", r.sequence)
            w.field("state", r.state.name)
            w.field("error", r.error)
        case .reset(let r):
            w.field("reset", r.sent ? "sent" : "received")
            w.field("state", r.state.name)
        case .packet(let p):
            w.field("direction", p.direction.rawValue)
            w.field("ifindex", p.interfaceIndex)
            w.field("len", p.length)
            w.field("captured", p.bytes.count)
        }
        w.endObject()
        w.newline()
    }

    public func text(_ event: ProbeEvent) -> String {
        let h = event.header
        let time = String(wallClock.rfc3339(h.timestamp).dropFirst(11).prefix(15))
        // pid 0: a socket no process has touched yet (the kernel answered a handshake).
        let who = h.pid == 0 ? "- [\(h.container ?? "?")]" : "\(h.comm)/\(h.pid) [\(h.container ?? "?")]"
        let kind = RecordFormatter.pad(event.kindName, 10)
        switch event {
        case .data(let d):
            let arrow = d.direction == .egress ? "→" : "←"
            var line = "\(time) \(kind) \(who) \(h.tuple.local) \(arrow) \(h.tuple.remote) \(d.syscall.rawValue) \(d.length) B"
            if d.isTruncated { line += " (\(d.payload.count) captured)" }
            return line + " " + EventFormatter.preview(redactor.redact(d.payload)) + "\n"
        case .connectionOpened(let c), .connectionClosed(let c):
            return "\(time) \(kind) \(who) \(h.tuple.local) ↔ \(h.tuple.remote) \(c.role.rawValue) fd \(c.fd)\n"
        case .stateChanged(let s):
            return "\(time) \(kind) \(who) \(h.tuple.local) ↔ \(h.tuple.remote) \(s.oldState.name) → \(s.newState.name)\n"
        case .retransmit(let r):
            let failed = r.error == 0 ? "" : " (not sent: error \(r.error))"
            return "\(time) \(kind) \(who) \(h.tuple.local) → \(h.tuple.remote) \(r.segments) segment(s) seq \(r.sequence) \(r.state.name)\(failed)\n"
        case .reset(let r):
            return "\(time) \(kind) \(who) \(h.tuple.local) ↔ \(h.tuple.remote) \(r.sent ? "sent" : "received") in \(r.state.name)\n"
        case .packet(let p):
            let arrow = p.direction == .egress ? "→" : "←"
            return "\(time) \(kind) \(who) \(h.tuple.local) \(arrow) \(h.tuple.remote) if \(p.interfaceIndex) \(p.length) B\n"
        }
    }

    /// The first bytes of a payload, quoted, non-printables escaped.
    public static func preview(_ payload: [UInt8], limit: Int = 80) -> String {
        var w = JSONWriter()
        w.payloadField("p", Array(payload.prefix(limit)))
        // payloadField wrote `"p":"..."`: keep the quoted value only.
        return String(decoding: w.bytes.dropFirst(4), as: UTF8.self) + (payload.count > limit ? "…" : "")
    }
}
