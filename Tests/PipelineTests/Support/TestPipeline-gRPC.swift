import Foundation
import Glibc
import TestSupport

/// The same three hosts carrying gRPC: grpc_server.py (grpcio) on the
/// backend, nginx on the lb speaking cleartext HTTP/2 (prior knowledge) and
/// passing `/demo.Echo/` on with `grpc_pass` over a kept-alive HTTP/2
/// connection; `/plain` nginx answers itself.
extension TestPipeline {
    var grpcPort: Int { 50051 }

    func startGRPCServers() throws {
        let server = try Child(exec(backend, ["python3", Repository.grpcServer, "\(grpcPort)"]))
        servers.append(server)
        _ = try server.readJSON()
        let config = directory.appendingPathComponent("nginx-grpc.conf")
        try nginxConfiguration(server: """
            upstream grpcbackend { server \(backendAddress):\(grpcPort); keepalive 8; }
            server {
                listen \(lbPort) http2;
                location /demo.Echo/ { grpc_pass grpc://grpcbackend; }
                location /plain { return 200 "plain\\n"; }
            }
        """).write(to: config, atomically: true, encoding: .utf8)
        servers.append(try Child(exec(lb, ["nginx", "-c", config.path])))
        try waitForPort(lb, lbPort)
    }

    /// grpc_client.py in namespace `ns` calling `target` ("host:port"); `calls` as its arguments ("3:Say", "2:Watch:4").
    func startGRPCClient(in ns: String, target: String, _ calls: [String]) throws -> Child {
        try Child(exec(ns, ["python3", Repository.grpcClient, target] + calls))
    }

    /// What a finished gRPC client saw, one entry per call.
    func grpcCalls(of client: Child) throws -> [GRPCCall] {
        let out = client.readAll()
        guard client.wait() == 0 else { throw Shell.Failure(command: ["grpc_client.py"], status: -1, stderr: client.readAllErrors()) }
        return try out.split(separator: "\n").filter { !$0.contains("\"waiting\"") }
            .map { try JSONDecoder().decode(GRPCCall.self, from: Data($0.utf8)) }
    }

    /// tcpdump on every interface of the lb namespace (both legs), into `name` in the test directory.
    func startCapture(_ name: String) throws -> (Child, String) {
        let path = directory.appendingPathComponent(name).path
        let tcpdump = try Child(exec(lb, ["tcpdump", "-i", "any", "-U", "-n", "-w", path, "tcp"]))
        while let line = tcpdump.readErrorLine(), !line.contains("listening on") {}
        return (tcpdump, path)
    }

    /// Stops a capture once tcpdump has had time to write what it was handed (-U: packet by packet);
    /// SIGKILL, since children start with SIGINT and SIGTERM blocked. Returns the file's path.
    func stopCapture(_ capture: (Child, String)) throws -> String {
        usleep(1_000_000)
        capture.0.signal(SIGKILL)
        capture.0.wait()
        return capture.1
    }
}

/// What grpc_client.py measured for one call with its own clock and status codes.
struct GRPCCall: Decodable {
    var method: String
    var code: Int
    var messages: Int
    var start_ns: UInt64
    var duration_ns: UInt64

    var milliseconds: Double { Double(duration_ns) / 1e6 }
}

/// tshark's reading of a capture's HTTP/2 streams (`-d tcp.port==N,http2`):
/// per connection and stream, the request's `:path` and the response's
/// `:status` and `grpc-status`.
struct TsharkStreams {
    struct Stream: Hashable {
        var serverPort: Int
        var path: String?
        var status: String?
        var grpcStatus: String?
    }

    var streams: [Stream]

    /// `as`: the dissector the ports are decoded with; "http" follows an `Upgrade: h2c` to HTTP/2.
    init(capture: String, ports: [Int], as dissector: String = "http2") throws {
        var command = ["tshark", "-r", capture, "--no-duplicate-keys", "-Y", "http2.type == 1", "-T", "json"]
        for port in ports { command += ["-d", "tcp.port==\(port),\(dissector)"] }
        let text = try Shell.run(command)
        let packets = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
        var byKey: [String: Stream] = [:]
        var order: [String] = []
        for packet in packets {
            guard let layers = (packet["_source"] as? [String: Any])?["layers"] as? [String: Any],
                  let tcp = layers["tcp"] as? [String: Any],
                  let connection = tcp["tcp.stream"] as? String,
                  let source = (tcp["tcp.srcport"] as? String).flatMap(Int.init),
                  let destination = (tcp["tcp.dstport"] as? String).flatMap(Int.init) else { continue }
            let toServer = ports.contains(destination)
            for frame in TsharkStreams.objects(layers["http2"]) where frame["http2.type"] as? String == "1" {
                guard let id = frame["http2.streamid"] as? String else { continue }
                let key = "\(connection)/\(id)"
                if byKey[key] == nil {
                    byKey[key] = Stream(serverPort: toServer ? destination : source)
                    order.append(key)
                }
                for header in TsharkStreams.all(frame["http2.header"]) {
                    guard let name = header["http2.header.name"] as? String, let value = header["http2.header.value"] as? String else { continue }
                    switch name {
                    case ":path": byKey[key]?.path = value
                    case ":status": byKey[key]?.status = value
                    case "grpc-status": byKey[key]?.grpcStatus = value
                    default: break
                    }
                }
            }
        }
        streams = order.compactMap { byKey[$0] }
    }

    /// Every object holding an `http2.type` below `node`.
    private static func objects(_ node: Any?) -> [[String: Any]] {
        if let list = node as? [Any] { return list.flatMap { objects($0) } }
        guard let object = node as? [String: Any] else { return [] }
        if object["http2.type"] != nil { return [object] }
        return object.values.flatMap { objects($0) }
    }

    private static func all(_ node: Any?) -> [[String: Any]] {
        if let list = node as? [[String: Any]] { return list }
        if let one = node as? [String: Any] { return [one] }
        return []
    }
}
