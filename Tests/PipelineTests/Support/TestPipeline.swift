import TestSupport
import Foundation
import Glibc

/// Three hosts in network namespaces, "client" → "lb" → "backend", joined by
/// two veth pairs: a real nginx load balancer (one worker, keep-alive to its
/// upstream, an access log with its own upstream timing) in front of
/// backend.py, which delays /slow by `delayMilliseconds`. Names are unique
/// per instance; `remove()` (also run on deinit) stops the servers and
/// deletes the namespaces, so a failing test leaves nothing behind.
final class TestPipeline {
    let client: String
    let lb: String
    let backend: String
    let lbAddress = "10.232.1.1"
    let clientAddress = "10.232.1.2"
    let lbUpstreamAddress = "10.232.2.1"
    let backendAddress = "10.232.2.2"
    let lbPort = 8080
    let backendPort = 9000
    let delayMilliseconds: Int
    /// nginx terminates TLS (a self-signed certificate) in front of the cleartext backend.
    let tls: Bool
    let directory: URL
    /// Killed by `remove()`.
    var servers: [Child] = []
    private let namespaces = NetworkNamespaces()
    private var removed = false

    init(delayMilliseconds: Int = 50, tls: Bool = false) throws {
        self.delayMilliseconds = delayMilliseconds
        self.tls = tls
        let id = TestNetwork.uniqueID()
        client = "pt\(id)c"
        lb = "pt\(id)l"
        backend = "pt\(id)b"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pipetrace-test-\(id)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for ns in [client, lb, backend] { try namespaces.add(ns) }
        try namespaces.link("eth0", in: client, to: "down0", in: lb)
        try namespaces.link("eth0", in: backend, to: "up0", in: lb)
        for (ns, dev, address) in [(client, "eth0", clientAddress), (lb, "down0", lbAddress),
                                   (lb, "up0", lbUpstreamAddress), (backend, "eth0", backendAddress)] {
            try namespaces.address("\(address)/24", device: dev, in: ns)
        }
    }

    deinit { remove() }

    /// Starts the backend and nginx; returns once both accept connections.
    func startServers() throws {
        let backendServer = try Child(exec(backend, ["python3", Repository.backend, "\(backendPort)", "\(delayMilliseconds)"]))
        servers.append(backendServer)
        _ = try backendServer.readJSON()
        if tls {
            try Shell.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=lb",
                           "-keyout", directory.appendingPathComponent("key.pem").path,
                           "-out", directory.appendingPathComponent("cert.pem").path])
        }
        let config = directory.appendingPathComponent("nginx.conf")
        try nginxConfiguration.write(to: config, atomically: true, encoding: .utf8)
        servers.append(try Child(exec(lb, ["nginx", "-c", config.path])))
        try waitForPort(lb, lbPort)
    }

    /// nginx's own account of each request: `$request_uri $status $request_time $upstream_response_time`.
    var accessLog: [(uri: String, status: Int, requestTime: Double, upstreamTime: Double?)] {
        let text = (try? String(contentsOf: directory.appendingPathComponent("access.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 4, let status = Int(f[1]), let request = Double(f[2]) else { return nil }
            return (f[0], status, request, Double(f[3]))
        }
    }

    func remove() {
        guard !removed else { return }
        removed = true
        // The namespaces go first: removing them kills every process in them (nginx's worker too).
        namespaces.remove()
        for server in servers { server.signal(SIGKILL) }
        for server in servers { server.wait() }
        servers = []
        try? FileManager.default.removeItem(at: directory)
    }

    /// `pipetrace stat --json` over the three namespaces for at most 30 s (SIGINT ends it early),
    /// once it says it is collecting.
    func startStat(_ arguments: [String]) throws -> Child {
        let stat = try Child([Repository.pipetraceBinary, "stat", "--json", "--time", "30"] + arguments
            + ["--container", client, "--container", lb, "--container", backend])
        let ready = stat.readErrorLine() ?? ""
        guard ready.contains("collecting") else { throw Shell.Failure(command: ["pipetrace", "stat"], status: -1, stderr: ready) }
        return stat
    }

    /// A command line run inside namespace `ns`.
    func exec(_ ns: String, _ command: [String]) -> [String] {
        NetworkNamespaces.exec(ns, command)
    }

    /// Starts the calling client: `requests` as (count, path), in order, on one keep-alive connection.
    /// With TLS the client writes its session keys to `keyLog` (SSLKEYLOGFILE's format), for tshark.
    /// `prefix` goes before the command inside the namespace (`env NAME=value`), `delay` before it connects.
    func startClient(_ requests: [(Int, String)], prefix: [String] = [], delay: Double? = nil) throws -> Child {
        let keys = tls ? ["--tls", keyLog] : []
        let wait = delay.map { ["--delay", "\($0)"] } ?? []
        return try Child(exec(client, prefix + ["python3", Repository.client] + keys + wait + [lbAddress, "\(lbPort)"]
            + requests.map { "\($0.0):\($0.1)" }))
    }

    /// Where a TLS client writes its session keys.
    var keyLog: String { directory.appendingPathComponent("keys.log").path }

    /// What a finished client measured, one entry per request.
    func timings(of client: Child) throws -> [ClientTiming] {
        let out = client.readAll()
        guard client.wait() == 0 else { throw Shell.Failure(command: ["client.py"], status: -1, stderr: client.readAllErrors()) }
        return try out.split(separator: "\n").map { try JSONDecoder().decode(ClientTiming.self, from: Data($0.utf8)) }
    }

    /// A counter of /proc/net/snmp ("Tcp", "RetransSegs") inside namespace `ns`.
    func snmp(_ ns: String, _ group: String, _ field: String) throws -> Int {
        let text = try Shell.run(exec(ns, ["cat", "/proc/net/snmp"]))
        let lines = text.split(separator: "\n").filter { $0.hasPrefix(group + ":") }
        guard lines.count == 2 else { throw Shell.Failure(command: ["snmp"], status: -1, stderr: "no \(group) in /proc/net/snmp") }
        let names = lines[0].split(separator: " "), values = lines[1].split(separator: " ")
        guard let i = names.firstIndex(of: Substring(field)), let v = Int(values[i]) else {
            throw Shell.Failure(command: ["snmp"], status: -1, stderr: "no \(field) in \(group)")
        }
        return v
    }

    func waitForPort(_ ns: String, _ port: Int) throws {
        for _ in 0..<100 {
            if (try? Shell.run(exec(ns, ["ss", "-Htln", "sport = :\(port)"])))?.contains(":\(port)") == true { return }
            usleep(50_000)
        }
        throw Shell.Failure(command: ["nginx"], status: -1, stderr: "nginx did not listen on :\(port): "
            + ((try? String(contentsOf: directory.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""))
    }

    private var nginxConfiguration: String {
        let d = directory.path
        return nginxConfiguration(server: """
            upstream backend { server \(backendAddress):\(backendPort); keepalive 8; }
            server {
                listen \(lbPort)\(tls ? " ssl http2" : "");
                \(tls ? "ssl_certificate \(d)/cert.pem; ssl_certificate_key \(d)/key.pem;" : "")
                location / {
                    proxy_pass http://backend;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                }
            }
        """)
    }

    /// nginx's configuration around one `http` block's upstreams and servers: one worker, files in `directory`.
    func nginxConfiguration(server: String) -> String {
        let d = directory.path
        return """
        worker_processes 1;
        daemon off;
        user root;
        pid \(d)/nginx.pid;
        error_log \(d)/error.log warn;
        events { worker_connections 256; }
        http {
            log_format timing '$request_uri $status $request_time $upstream_response_time';
            access_log \(d)/access.log timing;
            client_body_temp_path \(d)/body;
            proxy_temp_path \(d)/proxy;
            fastcgi_temp_path \(d)/fastcgi;
            uwsgi_temp_path \(d)/uwsgi;
            scgi_temp_path \(d)/scgi;
        \(server)
        }
        """
    }
}

/// What client.py measured for one request with its own clock.
struct ClientTiming: Decodable {
    var path: String
    var status: Int
    var bytes: Int
    var start_ns: UInt64
    var duration_ns: UInt64
    var local_port: Int

    var milliseconds: Double { Double(duration_ns) / 1e6 }
}
