import Foundation
import Glibc
import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

/// client (curl, in one namespace) → nginx → backend (both in another, the
/// backend on that namespace's loopback): every hop seen from both ends.
@Suite("pipetrace export --otlp over a real two-hop chain: one trace per request", .serialized,
       .enabled(if: RootRequirement.testsEnabled && RootRequirement.enabled(when: OTLPDecoder.available && Command.exists("nginx"))))
struct MultiHopOTLPTests {
    static let requests = 3
    static let delayMilliseconds = 30
    static let lbPort = 8080
    static let backendPort = 9000

    @Test("each request's four spans share one trace id: CLIENT → SERVER at nginx → CLIENT → SERVER at the backend")
    func chain() throws {
        let net = try TestNetwork()
        let directory = NSTemporaryDirectory() + "pipetrace-multihop-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var servers: [Child] = []
        defer {
            for server in servers { server.signal(SIGKILL) }
            for server in servers { server.wait() }
            net.remove()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let backend = try Child(net.exec(net.server, ["python3", Repository.fixture("PipelineTests", "backend.py"),
                                                      "\(Self.backendPort)", "\(Self.delayMilliseconds)"]))
        servers.append(backend)
        _ = try backend.readJSON()
        try nginxConfiguration(directory, listen: "\(net.serverAddress):\(Self.lbPort)")
            .write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        servers.append(try Child(net.exec(net.server, ["nginx", "-c", directory + "/nginx.conf"])))
        let url = "http://\(net.serverAddress):\(Self.lbPort)/slow"
        #expect(eventually(10) { (try? Shell.run(net.exec(net.client, ["curl", "-sf", "-o", "/dev/null", url.replacingOccurrences(of: "/slow", with: "/fast")]))) != nil })

        let receiver = try OTLPReceiver()
        let export = try Child([Repository.pipetraceBinary, "export", "--listen", "", "--otlp", receiver.baseURL, "--interval", "1",
                                "--spool-dir", directory + "/spool", "--container", net.client, "--container", net.server])
        #expect(export.readErrorLine()?.hasPrefix("pipetrace: exporting") == true)
        for _ in 0..<Self.requests { try Shell.run(net.exec(net.client, ["curl", "-sf", "-o", "/dev/null", url])) }
        usleep(2_500_000)
        export.signal(SIGTERM)
        let status = export.wait()
        let stderr = export.readAllErrors()
        #expect(status == 0, "\(stderr)")

        let spans = try receiver.decoded("traces").filter { $0["name"] as? String == "GET /slow" }
        let traces = Dictionary(grouping: spans) { $0["trace_id"] as? String ?? "" }
        #expect(traces.count == Self.requests, "\(spans)\n\(stderr)")
        for (trace, members) in traces {
            try #require(members.count == 4, "trace \(trace): \(members)")
            let byID = Dictionary(members.map { ($0["span_id"] as? String ?? "", $0) }) { a, _ in a }
            // Walk from the root down the parent links: each span has exactly one child.
            var chain = members.filter { $0["parent_span_id"] as? String == "" }
            #expect(chain.count == 1, "\(members)")
            while let last = chain.last, chain.count < 4,
                  let next = members.first(where: { $0["parent_span_id"] as? String == last["span_id"] as? String }) {
                chain.append(next)
            }
            try #require(chain.count == 4, "the parent links do not make one chain: \(members)")
            #expect(Set(members.compactMap { $0["parent_span_id"] as? String }.filter { !$0.isEmpty }).isSubset(of: Set(byID.keys)))
            #expect(chain.map { $0["kind"] as? String } == ["SPAN_KIND_CLIENT", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_SERVER"])
            let attributes = chain.map { $0["attributes"] as? [String: Any] ?? [:] }
            // The first hop is to nginx, the second to the backend; both seen from both ends.
            #expect(attributes.map { ($0["server.port"] as? [String: Any])?["int"] as? Int }
                    == [Self.lbPort, Self.lbPort, Self.backendPort, Self.backendPort])
            #expect(attributes.map { ($0["server.address"] as? [String: Any])?["string"] as? String }
                    == [net.serverAddress, net.serverAddress, "127.0.0.1", "127.0.0.1"])
            #expect(attributes.map { ($0["client.address"] as? [String: Any])?["string"] as? String }
                    == [net.clientAddress, net.clientAddress, "127.0.0.1", "127.0.0.1"])
            for a in attributes {
                #expect(same(a["http.request.method"] as Any, ["string": "GET"]))
                #expect(same(a["url.path"] as Any, ["string": "/slow"]))
                #expect(same(a["http.response.status_code"] as Any, ["int": 200]))
                #expect(same(a["network.protocol.name"] as Any, ["string": "http"]))
                #expect(same(a["pipetrace.side"] as Any, ["string": "both"]))
                for key in ["client.port", "network.protocol.version", "pipetrace.network_ms", "pipetrace.server_ms"] {
                    #expect(a[key] != nil, "\(key) missing: \(a)")
                }
            }
            #expect(chain.map { ($0["resource"] as? [String: Any]).flatMap { ($0["service.name"] as? [String: Any])?["string"] as? String } }
                    == [net.client, net.server, net.server, net.server])
            // Each span lasts at least as long as the one under it; the backend's at least its delay.
            let durations = chain.map { (($0["end"] as? NSNumber)?.int64Value ?? 0) - (($0["start"] as? NSNumber)?.int64Value ?? 0) }
            #expect(durations[0] >= durations[1] && durations[1] >= durations[2] && durations[2] >= durations[3], "\(durations)")
            #expect(durations[3] >= Int64(Self.delayMilliseconds) * 1_000_000, "\(durations)")
        }
    }

    func nginxConfiguration(_ d: String, listen: String) -> String {
        """
        worker_processes 1;
        daemon off;
        master_process off;
        user root;
        pid \(d)/nginx.pid;
        error_log \(d)/error.log warn;
        events { worker_connections 64; }
        http {
            access_log off;
            client_body_temp_path \(d)/body;
            proxy_temp_path \(d)/proxy;
            fastcgi_temp_path \(d)/fastcgi;
            uwsgi_temp_path \(d)/uwsgi;
            scgi_temp_path \(d)/scgi;
            upstream backend { server 127.0.0.1:\(Self.backendPort); keepalive 4; }
            server {
                listen \(listen);
                location / {
                    proxy_pass http://backend;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                }
            }
        }
        """
    }
}
