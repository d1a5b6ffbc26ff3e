import Foundation
import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

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

    /// A TCP connection to the server that sends `bytes` and then nothing.
    private func idleClient(_ port: UInt16, sending bytes: [UInt8] = []) throws -> Socket {
        let socket = try Socket.connect(host: "127.0.0.1", port: port, timeout: 5)
        if !bytes.isEmpty { try socket.writeAll(bytes) }
        return socket
    }

    @Test("a scrape is answered while other clients hold connections open, idle or mid-request")
    func idleClientsDoNotBlock() throws {
        // A per-connection timeout far beyond the scraper's: one connection at a time would fail the scrape.
        let server = try MetricsServer(host: "127.0.0.1", port: 0, timeout: 60) { Array("up 1\n".utf8) }
        defer { server.stop() }
        let held = try [idleClient(server.port), idleClient(server.port, sending: Array("GET /metr".utf8))]
        let response = try HTTPClient(timeout: 5).get(try HTTPEndpoint("http://127.0.0.1:\(server.port)/metrics"))
        #expect(response.status == 200 && response.body == Array("up 1\n".utf8))
        #expect(held.count == 2)
    }

    @Test("connections beyond the bound are told 503; a request head over 8 KiB is told 431")
    func bounded() throws {
        let server = try MetricsServer(host: "127.0.0.1", port: 0, maxConnections: 2, timeout: 60) { [] }
        defer { server.stop() }
        let held = try [idleClient(server.port), idleClient(server.port)]
        let third = try idleClient(server.port)
        #expect(String(decoding: try third.read(), as: UTF8.self).hasPrefix("HTTP/1.1 503 "))
        #expect(held.count == 2)
        let other = try MetricsServer(host: "127.0.0.1", port: 0, timeout: 60) { [] }
        defer { other.stop() }
        let big = try idleClient(other.port, sending: Array(repeating: UInt8(ascii: "a"), count: 9000))
        #expect(String(decoding: try big.read(), as: UTF8.self).hasPrefix("HTTP/1.1 431 "))
    }
}
