import Analyzer
import Events

/// A captured packet with what pipetrace knows about it beyond its bytes:
/// the process and container that own its socket, the request it starts,
/// and whether the kernel sent it again. What every `CaptureFormat` writes.
public struct AnnotatedPacket: Sendable, Hashable {
    public var event: PacketEvent
    /// Nanoseconds since the Unix epoch.
    public var unixNanoseconds: Int64
    public var interface: CaptureInterface
    /// The request whose first packet this is (its summary goes in the comment).
    public var requestStarted: RequestRecord?
    /// The request whose response this packet completed, when its first
    /// packet had been written before its record came (its summary goes here).
    public var requestCompleted: RequestRecord?
    /// The response whose first packet this is.
    public var responseStarted: RequestRecord?
    /// The kernel retransmitted this segment (tcp_retransmit_skb named its sequence).
    public var isRetransmit = false
    /// Who received it, when that was a socket of this host too (the packet
    /// is captured once, leaving its sender; this is its other end).
    public var receiver: EventHeader?

    public init(event: PacketEvent, unixNanoseconds: Int64, interface: CaptureInterface) {
        self.event = event
        self.unixNanoseconds = unixNanoseconds
        self.interface = interface
    }

    /// The packet's comment: `Key: value` lines a display filter can match
    /// (`frame.comment contains "Container: lb"`), then the same for the
    /// receiver on this host (`Receiver PID`, `Receiver Cmd`, `Receiver
    /// Container`: so `contains "Container: lb"` finds what lb sent and what
    /// it received), then the request summary (on the request's first packet,
    /// or as `Completes: <summary>` on the packet that completed a request
    /// whose first packet was written before its record came) and the
    /// retransmit mark when they apply.
    public var comment: String {
        let h = event.header
        var lines: [String] = []
        if h.pid != 0 {
            lines.append("PID: \(h.pid)")
            lines.append("Cmd: \(h.comm)")
        }
        lines.append("Container: \(h.container ?? interface.container)")
        if let r = receiver {
            if r.pid != 0 {
                lines.append("Receiver PID: \(r.pid)")
                lines.append("Receiver Cmd: \(r.comm)")
            }
            lines.append("Receiver Container: \(r.container ?? "host")")
        }
        if let record = requestStarted { lines.append(AnnotatedPacket.summary(record)) }
        if let record = requestCompleted { lines.append("Completes: " + AnnotatedPacket.summary(record)) }
        if isRetransmit { lines.append("TCP retransmit") }
        return lines.joined(separator: "\n")
    }

    /// One line for a request: "HTTP GET /metrics 200 14.8 ms hop collector→exporter",
    /// "HTTP/2 GET /plain 404 …", "gRPC demo.Echo/Say 5 client_error …", "AMQP basic.publish logs/app.error basic.ack …"
    /// (an unknown method or target is "?").
    public static func summary(_ record: RequestRecord) -> String {
        let name = switch record.protocolName {
        case "h2": "HTTP/2"
        case "grpc": "gRPC"
        default: record.protocolName.split(separator: "/").first.map { $0.uppercased() } ?? record.protocolName
        }
        var parts = [name]
        if record.method != nil || record.target != nil { parts.append(RequestRecord.operationText(record.method, record.target)) }
        if record.protocolName == "amqp" { // the method that answered (basic.ack, channel.close), then a reply code
            let answer = [record.attributes["amqp.reply"], record.status.map(String.init)].compactMap { $0 }
            parts.append(answer.isEmpty ? "no answer" : answer.joined(separator: " "))
        } else {
            parts.append(record.status.map(String.init) ?? "no response")
        }
        if record.protocolName == "grpc", let outcome = record.outcome { parts.append(outcome.rawValue) }
        let tenths = (record.duration + 50_000) / 100_000 // milliseconds to one decimal, rounded
        parts.append("\(tenths / 10).\(tenths % 10) ms")
        if let hop = record.hop { parts.append("hop \(hop)") }
        return parts.joined(separator: " ")
    }
}
