import Analyzer
import Events
import Packets

/// Writes JSON lines as Tracee v0.24 does with `-o json` (field names and
/// order of its `trace.Event`), so Traceeshark and Tracee's own tooling load
/// them: `net_packet_raw` per packet, `net_packet_http_request` and
/// `net_packet_http_response` on the packets that start a request or a
/// response, `net_flow_tcp_begin`/`net_flow_tcp_end` per connection, and
/// pipetrace's own `pipetrace_request` (a RequestRecord) and
/// `pipetrace_retransmit`. Fields pipetrace does not know (namespaces of
/// pid and mount, uid, parent) are 0, as Tracee writes them when unknown.
public struct TraceeJSONWriter: CaptureFormat {
    /// Tracee's ids for its events (pkg/events/core.go of v0.24.0 and
    /// v0.24.1: NetPacketRaw is StartCommonID 700 + 1, the HTTP and flow
    /// events count from StartUserSpaceID 2000; later Tracee dropped
    /// NetFlowEnd, moving the flow events to 2012 and 2013). pipetrace's own
    /// events take ids from 10000 up: above MaxBuiltinID (9999), which no
    /// Tracee event uses (9000 and up are arm64's unsupported syscalls,
    /// 6000 signatures, 7500 detectors, 8000 tests).
    public enum EventID: String, Sendable {
        case netPacketRaw = "701"
        case netPacketHTTPRequest = "2010"
        case netPacketHTTPResponse = "2011"
        case netFlowTCPBegin = "2013"
        case netFlowTCPEnd = "2014"
        case pipetraceRequest = "10000"
        case pipetraceRetransmit = "10001"
    }

    public let wallClock: WallClock
    public let hostName: String

    public init(wallClock: WallClock, hostName: String) {
        self.wallClock = wallClock
        self.hostName = hostName
    }

    public func begin() -> [UInt8] { [] }

    public func encode(_ packet: AnnotatedPacket) -> [UInt8] {
        let h = packet.event.header
        var out = line(h, time: packet.unixNanoseconds, id: .netPacketRaw, name: "net_packet_raw") { w in
            w.add("data", "[]byte") { $0.field("value", Base64.encode(packet.event.bytes)) }
        }
        let segment: TCPSegment? = {
            let captured = CapturedPacket(timestamp: 0, linkType: .raw, bytes: packet.event.bytes,
                                          originalLength: Int(packet.event.length))
            if case .tcp(let s)? = try? PacketDecoder.decode(captured) { return s }
            return nil
        }()
        guard let segment else { return out }
        let head = HTTPPacketHead(Array(segment.payload))
        if packet.requestStarted != nil, let head, head.isRequest {
            out += line(h, time: packet.unixNanoseconds, id: .netPacketHTTPRequest, name: "net_packet_http_request") { w in
                TraceeJSONWriter.metadata(&w, packet, segment)
                w.add("http_request", "trace.ProtoHTTPRequest") { w in
                    w.beginObject("value")
                    w.field("method", head.method)
                    w.field("protocol", head.version)
                    w.field("host", head.host)
                    w.field("uri_path", head.path)
                    TraceeJSONWriter.headers(&w, head)
                    w.field("content_length", head.contentLength)
                    w.endObject()
                }
            }
        }
        if packet.responseStarted != nil, let head, !head.isRequest {
            out += line(h, time: packet.unixNanoseconds, id: .netPacketHTTPResponse, name: "net_packet_http_response") { w in
                TraceeJSONWriter.metadata(&w, packet, segment)
                w.add("http_response", "trace.ProtoHTTPResponse") { w in
                    w.beginObject("value")
                    w.field("status", head.status)
                    w.field("status_code", head.statusCode)
                    w.field("protocol", head.version)
                    TraceeJSONWriter.headers(&w, head)
                    w.field("content_length", head.contentLength)
                    w.endObject()
                }
            }
        }
        return out
    }

    public func encode(_ note: CaptureNote) -> [UInt8] {
        switch note {
        case .request(let record):
            var header = EventHeader(pid: record.client.pid ?? record.server.pid ?? 0, tid: 0,
                                     comm: record.client.comm ?? record.server.comm ?? "", netns: 0, cgroupID: 0,
                                     connectionID: 0, timestamp: 0,
                                     tuple: SocketTuple(local: Endpoint(address: IPAddress(ipv4: [0, 0, 0, 0]), port: 0),
                                                        remote: Endpoint(address: IPAddress(ipv4: [0, 0, 0, 0]), port: 0)))
            let end = record.client.pid != nil ? record.client : record.server
            header.container = end.container
            header.containerID = end.containerID
            return line(header, time: record.start, id: .pipetraceRequest, name: "pipetrace_request") { w in
                // The summary first, as a string Traceeshark shows and filters; then the whole record.
                w.add("summary", "string") { $0.field("value", AnnotatedPacket.summary(record)) }
                var nested = JSONWriter()
                record.writeJSON(into: &nested)
                // "unknown": Tracee's type for a nested object it has no Go type for (as triggeredBy);
                // Traceeshark shows it as such, where a type name of our own would make it warn.
                w.add("record", "unknown") { $0.rawField("value", nested.bytes) }
            }
        case .retransmit(let r):
            let h = r.header
            return line(h, time: wallClock.unixNanoseconds(h.timestamp), id: .pipetraceRetransmit, name: "pipetrace_retransmit") { w in
                w.add("src", "string") { $0.field("value", h.tuple.local.address.description) }
                w.add("dst", "string") { $0.field("value", h.tuple.remote.address.description) }
                w.add("src_port", "uint16") { $0.field("value", h.tuple.local.port) }
                w.add("dst_port", "uint16") { $0.field("value", h.tuple.remote.port) }
                w.add("seq", "uint32") { $0.field("value", r.sequence) }
                w.add("segments", "uint32") { $0.field("value", r.segments) }
                w.add("state", "string") { $0.field("value", r.state.name) }
            }
        case .connectionOpened(let c), .connectionClosed(let c):
            let opened: Bool
            if case .connectionOpened = note { opened = true } else { opened = false }
            let h = c.header
            // Tracee's flows go from the side that connected to the side that accepted.
            let outgoing = c.role != .server
            let (src, dst) = outgoing ? (h.tuple.local, h.tuple.remote) : (h.tuple.remote, h.tuple.local)
            return line(h, time: wallClock.unixNanoseconds(h.timestamp), id: opened ? .netFlowTCPBegin : .netFlowTCPEnd,
                        name: opened ? "net_flow_tcp_begin" : "net_flow_tcp_end") { w in
                // Tracee v0.24's argument types for these events (Go names, not C ones).
                w.add("conn_direction", "string") { $0.field("value", outgoing ? "outgoing" : "incoming") }
                w.add("src", "string") { $0.field("value", src.address.description) }
                w.add("dst", "string") { $0.field("value", dst.address.description) }
                w.add("src_port", "uint16") { $0.field("value", src.port) }
                w.add("dst_port", "uint16") { $0.field("value", dst.port) }
                w.add("src_dns", "[]string") { w in w.beginArray("value"); w.endArray() }
                w.add("dst_dns", "[]string") { w in w.beginArray("value"); w.endArray() }
            }
        }
    }

    /// One event line in Tracee's field order; `args` writes the arguments.
    private func line(_ h: EventHeader, time: Int64, id: EventID, name: String,
                      args: (inout ArgumentList) -> Void) -> [UInt8] {
        var w = JSONWriter(capacity: 1024)
        // Where a container's id is known it is Tracee's id and the name its name;
        // a namespace's name (a test network, the demo) stands for both.
        let container = h.container.flatMap { $0 == "host" ? nil : $0 } ?? ""
        let containerID = h.containerID ?? container
        w.beginObject()
        w.field("timestamp", time)
        w.field("threadStartTime", 0)
        w.field("processorId", 0)
        w.field("processId", h.pid)
        w.field("cgroupId", h.cgroupID)
        w.field("threadId", h.tid)
        w.field("parentProcessId", 0)
        w.field("hostProcessId", h.pid)
        w.field("hostThreadId", h.tid)
        w.field("hostParentProcessId", 0)
        w.field("userId", 0)
        w.field("mountNamespace", 0)
        w.field("pidNamespace", 0)
        w.field("processName", h.comm)
        w.beginObject("executable")
        w.field("path", "")
        w.endObject()
        w.field("hostName", hostName)
        w.field("containerId", containerID)
        w.beginObject("container")
        if !container.isEmpty {
            w.field("id", containerID)
            w.field("name", container)
        }
        w.endObject()
        w.beginObject("kubernetes")
        w.endObject()
        w.field("eventId", id.rawValue)
        w.field("eventName", name)
        w.beginArray("matchedPolicies")
        w.endArray()
        var list = ArgumentList()
        args(&list)
        w.field("argsNum", list.count)
        w.field("returnValue", 0)
        w.field("syscall", "")
        w.beginArray("stackAddresses")
        w.endArray()
        w.beginObject("contextFlags")
        w.field("containerStarted", !container.isEmpty)
        w.field("isCompat", false)
        w.endObject()
        w.field("threadEntityId", 0)
        w.field("processEntityId", 0)
        w.field("parentEntityId", 0)
        w.rawField("args", [UInt8(ascii: "[")] + list.writer.bytes + [UInt8(ascii: "]")])
        w.endObject()
        w.newline()
        return w.bytes
    }

    /// Tracee's `trace.PktMeta`: the packet's addresses as it travelled, and the interface.
    private static func metadata(_ w: inout ArgumentList, _ packet: AnnotatedPacket, _ s: TCPSegment) {
        w.add("metadata", "trace.PktMeta") { w in
            w.beginObject("value")
            w.field("src_ip", s.source.address.description)
            w.field("dst_ip", s.destination.address.description)
            w.field("src_port", s.source.port)
            w.field("dst_port", s.destination.port)
            w.field("protocol", 6)
            w.field("packet_len", packet.event.length)
            w.field("iface", packet.interface.name)
            w.endObject()
        }
    }

    /// Go's http.Header: canonical names, each with its list of values; Host is not among them.
    private static func headers(_ w: inout JSONWriter, _ head: HTTPPacketHead) {
        w.beginObject("headers")
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in head.headers where name != "Host" {
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(value)
        }
        for name in order {
            var list: [UInt8] = [UInt8(ascii: "[")]
            for (i, v) in values[name, default: []].enumerated() {
                if i > 0 { list.append(UInt8(ascii: ",")) }
                list += jsonString(v)
            }
            list.append(UInt8(ascii: "]"))
            w.rawField(name, list)
        }
        w.endObject()
    }

    /// A string as a JSON literal, quotes included.
    static func jsonString(_ s: String) -> [UInt8] {
        var w = JSONWriter(capacity: s.utf8.count + 8)
        w.field("", s)
        return Array(w.bytes.dropFirst(3)) // `"":` before the literal
    }
}

/// The `args` of one event: `{name, type, value}` objects, counted for `argsNum`.
struct ArgumentList {
    var writer = JSONWriter()
    var count = 0

    /// One argument; `value` writes its `value` field.
    mutating func add(_ name: String, _ type: String, value: (inout JSONWriter) -> Void) {
        writer.beginObject()
        writer.field("name", name)
        writer.field("type", type)
        value(&writer)
        writer.endObject()
        count += 1
    }
}
