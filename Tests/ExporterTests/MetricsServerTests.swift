import Foundation
import TestSupport
import Testing
@testable import Exporter

@Suite("The /metrics endpoint")
struct MetricsServerTests {
    @Test("GET /metrics answers the exposition text; promtool accepts it over HTTP; other paths are 404")
    func serves() throws {
        let (_, exposition) = ExpositionTests.fed()
        let server = try MetricsServer(host: "127.0.0.1", port: 0) { exposition.render() }
        defer { server.stop() }
        let client = HTTPClient(timeout: 5)
        let response = try client.get(try HTTPEndpoint("http://127.0.0.1:\(server.port)/metrics"))
        #expect(response.status == 200)
        #expect(response.body == exposition.render())
        #expect(try client.get(try HTTPEndpoint("http://127.0.0.1:\(server.port)/")).status == 404)
        if Command.exists("promtool") || RootRequirement.strict {
            let check = try Command.run(["promtool", "check", "metrics"], input: response.body)
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        }
    }

    @Test("a port in use is an error naming --listen")
    func portInUse() throws {
        let first = try MetricsServer(host: "127.0.0.1", port: 0) { [] }
        defer { first.stop() }
        #expect {
            _ = try MetricsServer(host: "127.0.0.1", port: first.port) { [] }
        } throws: { error in
            "\(error)" == "--listen 127.0.0.1:\(first.port): Address already in use"
        }
    }
}
