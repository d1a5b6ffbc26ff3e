// The Analyzer's throughput and memory: a large stream of HTTP/1.1
// keep-alive exchanges seen from both ends (client and server in different
// namespaces), replayed through one Analyzer on one core. Each exchange is
// the five events `bench/exporter-cost.sh` traces per request: the client
// writes the request, the server reads it, writes the response head with
// writev and sends the body with sendfile (as nginx does), and the client
// reads head and body in one read.
//
//   swift run -c release AnalyzerBenchmark [million-events] [open-connections] [repeated|distinct|grpc|amqp|kafka]
//
// `repeated` (the default) is what the exporter sees: each request the same
// bytes (wrk's, a scraper's), each response head the same but for its Date,
// which changes once a second of the stream's time. `distinct` makes every
// head differ (the request's target, the response's Date), so that no head
// is a repeat of the last one on its connection: the parser's worst case.
//
// `grpc` is the HTTP/2 mix: unary gRPC calls, 100 streams per connection,
// each call four events (the client writes HEADERS and DATA, the server
// reads them, writes HEADERS, DATA and trailers, the client reads them), the
// headers indexed into HPACK's dynamic tables after a connection's first call
// as gRPC implementations send them.
//
// `amqp` is the AMQP 0-9-1 mix on one channel per connection in confirm
// mode: a publish (method, content header, 256-byte body in one write) and
// its basic.ack from the broker, then a basic.deliver with its content and
// the consumer's basic.ack, each message four events (written, read).
//
// `kafka` is the Kafka mix (KafkaMix.swift): Produce and Fetch of 16 KiB
// batches over 50 partitions, half the connections producers, half consumers.
//
// Connections are closed and replaced as the run goes on, so memory must
// stay bounded by the open connections, not grow with the run's length.
import Analyzer
import Events
import Glibc

let millions = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 4 : 4
let open = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 200 : 200
let mode = CommandLine.arguments.count > 3 ? CommandLine.arguments[3] : "repeated"
let distinct = mode == "distinct"
let grpc = mode == "grpc"
let amqp = mode == "amqp"
let kafka = mode == "kafka"
let totalEvents = Int(millions * 1_000_000)
let requestsPerConnection = grpc ? 100 : 500

let bodyBytes = Array((0..<24).map { "pipetrace_bench_metric{le=\"\($0)\"} \($0 * 7)\n" }.joined().utf8)
let repeatedRequest = request(target: "/metrics")

/// wrk's request.
func request(target: String) -> [UInt8] {
    Array("GET \(target) HTTP/1.1\r\nHost: 10.0.0.2:8080\r\n\r\n".utf8)
}

/// nginx's response head, sent at `second` (seconds since 10:00:00).
func responseHead(second: Int) -> [UInt8] {
    func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    let date = "Sat, 21 Nov 2026 \(twoDigits(10 + second / 3600 % 14)):\(twoDigits(second / 60 % 60)):\(twoDigits(second % 60)) GMT"
    return Array(("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: \(date)\r\n"
        + "Content-Type: text/plain\r\nContent-Length: \(bodyBytes.count)\r\nLast-Modified: Sat, 21 Nov 2026 09:00:00 GMT\r\n"
        + "Connection: keep-alive\r\nETag: \"6720a3f0-350\"\r\nAccept-Ranges: bytes\r\n\r\n").utf8)
}

/// An AMQP 0-9-1 method frame on channel 1 (class, method, arguments).
func amqpMethod(_ classID: UInt8, _ methodID: UInt8, _ arguments: [UInt8]) -> [UInt8] {
    let n = arguments.count + 4
    return [1, 0, 1, 0, 0, UInt8(n >> 8), UInt8(n & 0xFF), 0, classID, 0, methodID] + arguments + [0xCE]
}

func amqpTag(_ tag: Int) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: tag >> (56 - 8 * $0)) } }

/// One message's content: its header (body size, no properties) and body frames.
let amqpContent: [UInt8] = [2, 0, 1, 0, 0, 0, 14, 0, 60, 0, 0] + amqpTag(256) + [0, 0, 0xCE]
    + [3, 0, 1, 0, 0, 1, 0] + [UInt8](repeating: 0x2A, count: 256) + [0xCE]
let amqpPublish = amqpMethod(60, 40, [0, 0, 4] + Array("logs".utf8) + [9] + Array("app.error".utf8) + [0]) + amqpContent
/// The connection's first bytes: the protocol header, channel.open and confirm.select (and their replies).
let amqpOpen = Array("AMQP".utf8) + [0, 0, 9, 1] + amqpMethod(20, 10, [0]) + amqpMethod(85, 10, [0])
let amqpOpened = amqpMethod(20, 11, [0, 0, 0, 0]) + amqpMethod(85, 11, [])

/// An HTTP/2 frame.
func frame(_ type: UInt8, flags: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
    [0, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF), type, flags,
     UInt8(stream >> 24), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
}

/// One unary call on `stream`: the request's and the response's bytes. The
/// first call on a connection sends the preface and puts :path,
/// content-type and grpc-status into the HPACK tables; later ones index them.
func grpcCall(stream: UInt32, first: Bool) -> (request: [UInt8], response: [UInt8]) {
    func literal(_ nameIndex: UInt8, _ value: String) -> [UInt8] { [0x40 | nameIndex, UInt8(value.utf8.count)] + Array(value.utf8) }
    let message: [UInt8] = [0, 0, 0, 0, 20] + [UInt8](repeating: 0x2A, count: 20)
    let requestBlock: [UInt8] = first ? [0x83, 0x86] + literal(4, "/demo.Echo/Say") + literal(31, "application/grpc")
                                      : [0x83, 0x86, 0xBF, 0xBE]
    let responseBlock: [UInt8] = first ? [0x88] + literal(31, "application/grpc") : [0x88, 0xBF]
    let trailers: [UInt8] = first ? [0x40, 11] + Array("grpc-status".utf8) + [1, UInt8(ascii: "0")] : [0xBE]
    let preface = first ? Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(4, flags: 0, stream: 0, []) : []
    return (preface + frame(1, flags: 4, stream: stream, requestBlock) + frame(0, flags: 1, stream: stream, message),
            frame(1, flags: 4, stream: stream, responseBlock) + frame(0, flags: 0, stream: stream, message)
                + frame(1, flags: 5, stream: stream, trailers))
}

struct Connection {
    var id: UInt64
    var port: UInt16
    var served = 0
}

func header(_ c: Connection, client: Bool, at t: UInt64) -> EventHeader {
    let a = Endpoint(address: IPAddress(ipv4: [10, 0, 0, 1]), port: c.port)
    let b = Endpoint(address: IPAddress(ipv4: [10, 0, 0, 2]), port: 8080)
    return EventHeader(pid: client ? 1000 : 2000, tid: client ? 1000 : 2000, comm: client ? "vmagent" : "nginx",
                       netns: client ? 100 : 200, cgroupID: client ? 1 : 2, connectionID: client ? c.id : c.id + 1,
                       timestamp: t, tuple: client ? SocketTuple(local: a, remote: b) : SocketTuple(local: b, remote: a),
                       container: client ? "collector" : "lb")
}

/// `payload`, the first bytes of `length` (all of them unless said) as the probe delivers them.
func data(_ c: Connection, client: Bool, _ syscall: Syscall, _ payload: [UInt8], at t: UInt64, length: Int? = nil) -> ProbeEvent {
    .data(DataEvent(header: header(c, client: client, at: t), enterTimestamp: t - 2_000,
                    direction: syscall == .read ? .ingress : .egress, syscall: syscall, fd: 7,
                    role: client ? .client : .server, length: UInt64(length ?? payload.count), payload: payload))
}

/// Calls `body` with every event of the run, in order.
func generate(_ body: (ProbeEvent) -> Void) {
    var connections = (0..<open).map { Connection(id: UInt64($0) * 2 + 1, port: UInt16(20000 + $0)) }
    var nextID = UInt64(open) * 2 + 1
    var t: UInt64 = 1_000_000_000
    var produced = 0
    var exchanges = 0
    var headSecond = -1
    var head: [UInt8] = [], response: [UInt8] = []
    var offsets = [Int64](repeating: 0, count: kafkaPartitions)
    while produced < totalEvents {
        for i in connections.indices {
            let c = connections[i]
            t += 10_000
            exchanges += 1
            if amqp {
                let first = connections[i].served == 0, tag = amqpTag(connections[i].served + 1)
                let publish = (first ? amqpOpen : []) + amqpPublish
                let confirm = (first ? amqpOpened : []) + amqpMethod(60, 80, tag + [0])
                let deliver = amqpMethod(60, 60, [3] + Array("c-1".utf8) + tag + [0, 4] + Array("logs".utf8) + [9]
                    + Array("app.error".utf8)) + amqpContent
                let ack = amqpMethod(60, 80, tag + [0])
                body(data(c, client: true, .write, publish, at: t))
                body(data(c, client: false, .read, publish, at: t + 30_000))
                body(data(c, client: false, .write, confirm, at: t + 100_000))
                body(data(c, client: true, .read, confirm, at: t + 130_000))
                body(data(c, client: false, .write, deliver, at: t + 200_000))
                body(data(c, client: true, .read, deliver, at: t + 230_000))
                body(data(c, client: true, .write, ack, at: t + 300_000))
                body(data(c, client: false, .read, ack, at: t + 330_000))
                produced += 8
            } else if kafka {
                let ex = kafkaExchange(connection: i, served: connections[i].served, offsets: &offsets)
                let (q, s) = (ex.request, ex.response)
                body(data(c, client: true, .write, q.bytes, at: t, length: q.length))
                body(data(c, client: false, .read, q.bytes, at: t + 30_000, length: q.length))
                body(data(c, client: false, .write, s.bytes, at: t + 200_000, length: s.length))
                body(data(c, client: true, .read, s.bytes, at: t + 230_000, length: s.length))
                produced += 4
            } else if grpc {
                let call = grpcCall(stream: UInt32(connections[i].served * 2 + 1), first: connections[i].served == 0)
                body(data(c, client: true, .write, call.request, at: t))
                body(data(c, client: false, .read, call.request, at: t + 30_000))
                body(data(c, client: false, .write, call.response, at: t + 200_000))
                body(data(c, client: true, .read, call.response, at: t + 230_000))
                produced += 4
            } else {
                // Made again only when they change: the generator's cost is subtracted, but it is less noise.
                let requestBytes = distinct ? request(target: "/metrics?n=\(exchanges)") : repeatedRequest
                let second = distinct ? exchanges : Int(t / 1_000_000_000)
                if second != headSecond {
                    headSecond = second
                    head = responseHead(second: second)
                    response = head + bodyBytes
                }
                body(data(c, client: true, .write, requestBytes, at: t))
                body(data(c, client: false, .read, requestBytes, at: t + 30_000))
                body(data(c, client: false, .writev, head, at: t + 200_000))
                body(data(c, client: false, .sendfile, bodyBytes, at: t + 210_000))
                body(data(c, client: true, .read, response, at: t + 230_000))
                produced += 5
            }
            connections[i].served += 1
            if connections[i].served == requestsPerConnection {
                body(.connectionClosed(ConnectionEvent(header: header(c, client: true, at: t + 300_000), fd: 7, role: .client)))
                body(.connectionClosed(ConnectionEvent(header: header(c, client: false, at: t + 300_000), fd: 7, role: .server)))
                connections[i] = Connection(id: nextID, port: UInt16(20000 + Int(nextID / 2) % 40000))
                nextID += 2
            }
        }
    }
}

/// CPU seconds this process has used: on a shared machine, wall-clock time
/// measures the neighbours too.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Peak resident memory so far (VmHWM), in MiB.
func peakMiB() -> Double {
    guard let f = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if s.hasPrefix("VmHWM:") {
            return (Double(s.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
        }
    }
    return 0
}

/// `value` with `decimals` digits after the point.
func fixed(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let n = Int((value * scale).rounded())
    let whole = n / Int(scale), frac = n % Int(scale)
    guard decimals > 0 else { return String(whole) }
    let f = String(frac)
    return "\(whole)." + String(repeating: "0", count: decimals - f.count) + f
}

// The generator alone, to take its cost out of the analyzer's.
var count = 0
var start = now()
generate { _ in count += 1 }
let generation = now() - start

var analyzer = Analyzer(configuration: AnalyzerConfiguration())
var records = 0
var peakAtQuarter = 0.0
var seen = 0
start = now()
var completed: [RequestRecord] = [] // emptied and reused, as the exporter does
generate { event in
    analyzer.process(event, into: &completed)
    records += completed.count
    completed.removeAll(keepingCapacity: true)
    seen += 1
    if seen == count / 4 { peakAtQuarter = peakMiB() }
}
records += analyzer.finish().count
let total = now() - start
let analysis = max(total - generation, 1e-9)

let eventsPerSecond = Double(count) / analysis
let recordsPerSecond = Double(records) / analysis
print("events:            \(count) (\(open) connections open at a time, \(requestsPerConnection) requests each, \(amqp ? "AMQP publishes confirmed and deliveries acked" : kafka ? "Kafka produce/fetch of 16 KiB batches, 50 partitions" : grpc ? "gRPC unary calls" : distinct ? "distinct heads" : "repeated heads"))")
print("records:           \(records)")
print("analyzer:          \(fixed(eventsPerSecond / 1e6, 2)) million events/s, \(fixed(recordsPerSecond, 0)) records/s (one core)")
print("generator:         \(fixed(generation, 2)) s (subtracted)")
print("peak memory:       \(fixed(peakAtQuarter, 1)) MiB after a quarter of the run, \(fixed(peakMiB(), 1)) MiB at the end")
