import Foundation
import Glibc
import Synchronization
import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

/// `Fixtures/keepalive_server.py` on loopback: an HTTP/1.1 server that logs
/// each POST with the client port it came from; stopped and removed at the end.
final class KeepAliveServer {
    let port = freePort()
    let log = NSTemporaryDirectory() + "pipetrace-keepalive-\(UUID().uuidString).log"
    private let process: ChildProcess

    init(_ mode: String, _ n: Int = 0) throws {
        process = try ChildProcess(["python3", Repository.fixtures + "/keepalive_server.py", String(port), log, mode, String(n)],
                                   output: .discard)
        let probe = try HTTPEndpoint("http://127.0.0.1:\(port)/")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if (try? HTTPClient(timeout: 1).get(probe)) != nil { return }
            usleep(50_000)
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "keepalive_server.py did not start on port \(port)"])
    }

    deinit {
        process.signal(SIGKILL)
        process.wait()
        try? FileManager.default.removeItem(atPath: log)
    }

    var url: HTTPEndpoint { get throws { try HTTPEndpoint("http://127.0.0.1:\(port)/post") } }

    /// Every POST received, in order: the client port it came on, and its body.
    func posts() -> [(port: String, body: String)] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }
}

/// The connections a client opens: their local ports (its `onConnect`).
final class ConnectCounter: Sendable {
    private let ports = Mutex<[UInt16]>([])
    var value: Int { ports.withLock { $0.count } }
    var last: UInt16? { ports.withLock { $0.last } }

    func client(timeout: Double = 5, tls: TLSContext? = nil) -> HTTPClient {
        HTTPClient(timeout: timeout, tls: tls) { [self] c in ports.withLock { $0.append(c.localPort) } }
    }
}

@Suite("HTTP keep-alive: one connection across batches, reopened when a server closes it, never a batch twice",
       .serialized, .enabled(if: RootRequirement.enabled(when: Command.exists("python3"))))
struct HTTPClientKeepAliveTests {
    /// A connection whose client counts the connections it opens.
    static func counted() -> (ConnectCounter, HTTPConnection) {
        let counter = ConnectCounter()
        return (counter, counter.client().connection())
    }

    func post(_ connection: HTTPConnection, _ url: HTTPEndpoint, _ body: String) throws -> HTTPClient.Response {
        try connection.send("POST", url, headers: [], body: Array(body.utf8)[...])
    }

    @Test("batches posted one after another go over one connection to an HTTP/1.1 server")
    func reused() throws {
        let server = try KeepAliveServer("keep")
        let (counter, connection) = Self.counted()
        for i in 1...5 { #expect(try post(connection, server.url, "batch-\(i)").status == 200) }
        #expect(connection.isOpen)
        let posts = server.posts()
        #expect(posts.map(\.body) == (1...5).map { "batch-\($0)" })
        #expect(Set(posts.map(\.port)).count == 1)
        #expect(counter.value == 1)
    }

    @Test("a chunked response is read to its end and the connection carries the next batch")
    func chunked() throws {
        let server = try KeepAliveServer("chunked")
        let (counter, connection) = Self.counted()
        for i in 1...3 {
            let response = try post(connection, server.url, "batch-\(i)")
            #expect(response.status == 200 && response.body == Array("ok".utf8))
        }
        #expect(server.posts().count == 3 && counter.value == 1)
    }

    @Test("a server that closes kept-alive connections between batches: each batch arrives once, on a new connection")
    func closedBetween() throws {
        let server = try KeepAliveServer("close-after", 2)
        let (counter, connection) = Self.counted()
        for i in 1...6 {
            #expect(try post(connection, server.url, "batch-\(i)").status == 200)
            // The server's close reaches us before the next batch is sent.
            usleep(50_000)
        }
        let posts = server.posts()
        #expect(posts.map(\.body) == (1...6).map { "batch-\($0)" })
        #expect(Set(posts.map(\.port)).count == 3)
        #expect(counter.value == 3)
    }

    @Test("Connection: close is respected: the next batch opens a new connection")
    func connectionClose() throws {
        let server = try KeepAliveServer("connection-close")
        let (counter, connection) = Self.counted()
        for i in 1...3 {
            #expect(try post(connection, server.url, "batch-\(i)").status == 200)
            #expect(!connection.isOpen)
        }
        #expect(server.posts().count == 3 && Set(server.posts().map(\.port)).count == 3 && counter.value == 3)
    }

    @Test("an HTTP/1.0 server that closes after each answer (the OTLP receiver): every batch arrives, each on its own connection")
    func http10() throws {
        let receiver = try OTLPReceiver()
        let (counter, connection) = Self.counted()
        let url = try HTTPEndpoint(receiver.baseURL + "/v1/traces")
        for _ in 1...3 {
            #expect(try connection.send("POST", url, headers: OTLPSink.headers, body: [][...]).status == 200)
            #expect(!connection.isOpen)
        }
        #expect(receiver.bodies().count == 3 && counter.value == 3)
    }

    @Test("a response cut after its status line is an error, and that batch is not sent again; the next goes on a new connection")
    func cut() throws {
        let server = try KeepAliveServer("cut", 2)
        let (counter, connection) = Self.counted()
        #expect(try post(connection, server.url, "batch-1").status == 200)
        #expect(throws: HTTPClient.Failure.self) { try post(connection, server.url, "batch-2") }
        #expect(try post(connection, server.url, "batch-3").status == 200)
        #expect(server.posts().map(\.body) == ["batch-1", "batch-2", "batch-3"])
        #expect(counter.value == 2)
    }

    @Test("victoria-metrics takes batches over one connection (the kernel's list of connections says so), every sample stored", .enabled(if: ReceiverProcess.available))
    func victoriaMetrics() throws {
        let vm = try ReceiverProcess(.victoriaMetrics)
        let (counter, connection) = Self.counted()
        let url = try HTTPEndpoint(vm.baseURL + "/api/v1/import/prometheus")
        for i in 1...5 {
            #expect(try connection.send("POST", url, headers: [], body: Array("pipetrace_keepalive_test{batch=\"\(i)\"} \(i)\n".utf8)[...]).status == 204)
        }
        #expect(counter.value == 1)
        #expect(try Self.established(to: vm.port) == [counter.last])
        #expect(try eventually { try vm.export("pipetrace_keepalive_test").count == 5 })
    }

    @Test("over TLS too: victoria-metrics (-tls) takes batches over one TLS session", .enabled(if: ReceiverProcess.available && TestCertificates.available))
    func tls() throws {
        let certificates = try TestCertificates()
        let vm = try ReceiverProcess(.victoriaMetrics, tls: certificates)
        let counter = ConnectCounter()
        let connection = counter.client(tls: try certificates.context()).connection()
        let url = try HTTPEndpoint(vm.baseURL + "/api/v1/import/prometheus")
        for i in 1...5 {
            #expect(try connection.send("POST", url, headers: [], body: Array("pipetrace_keepalive_tls{batch=\"\(i)\"} \(i)\n".utf8)[...]).status == 204)
        }
        #expect(counter.value == 1)
        #expect(try Self.established(to: vm.port) == [counter.last])
        // Stopped and started again: the kept connection is dead, the next batch goes on a new one.
        vm.stop()
        try vm.start()
        #expect(try connection.send("POST", url, headers: [], body: Array("pipetrace_keepalive_tls{batch=\"6\"} 6\n".utf8)[...]).status == 204)
        #expect(counter.value == 2)
        #expect(try eventually { try vm.export("pipetrace_keepalive_tls").count == 6 })
    }

    /// The local ports of the established TCP connections to `port` on loopback, as `ss` lists them.
    static func established(to port: UInt16) throws -> [UInt16?] {
        let result = try Command.run(["ss", "-Htn", "state", "established", "dst", "127.0.0.1:\(port)"])
        return result.stdout.split(separator: "\n").map { line in
            let local = line.split(separator: " ", omittingEmptySubsequences: true).dropLast().last ?? ""
            return UInt16(local.split(separator: ":").last ?? "")
        }
    }
}

@Suite("HTTP responses framed for reuse: where one ends, and whether the connection may carry another")
struct HTTPResponseFramingTests {
    @Test("a chunked body ends after its last chunk and trailers; until then it is incomplete", arguments: [
        ("2\r\nok\r\n0\r\n\r\n", 12),
        ("2;ext=1\r\nok\r\n3\r\nabc\r\n0\r\nTrailer: x\r\n\r\n", 38),
        ("2\r\nok\r\n0\r\n", nil),
        ("2\r\no", nil),
        ("", nil),
    ] as [(String, Int?)])
    func chunkedEnd(text: String, end: Int?) throws {
        #expect(try HTTPConnection.chunkedEnd(Array(text.utf8), from: 0) == end)
    }

    @Test("a chunk size that is not hex is a protocol error")
    func badChunk() {
        #expect(throws: HTTPClient.Failure.self) { try HTTPConnection.chunkedEnd(Array("zz\r\nok\r\n".utf8), from: 0) }
    }

    @Test("sizes a receiver cannot mean (a chunk of Int.max bytes, a negative Content-Length) are incomplete or an error, never a crash")
    func hostileSizes() throws {
        let huge = Array("7fffffffffffffff\r\nok\r\n".utf8)
        #expect(try HTTPConnection.chunkedEnd(huge, from: 0) == nil)
        #expect(HTTPConnection.dechunk(huge[...]) == Array("ok\r\n".utf8))
        #expect(HTTPConnection.dechunk(Array("2\r\nok\r\n3;x=1\r\nabc\r\n0\r\n\r\n".utf8)[...]) == Array("okabc".utf8))
        #expect(throws: HTTPClient.Failure.self) {
            try HTTPConnection.Head(Array("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n".utf8)[...])
        }
    }

    @Test("keep-alive: HTTP/1.1 unless Connection: close; HTTP/1.0 only with Connection: keep-alive", arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
        ("HTTP/1.1 200 OK\r\nconnection: Close\r\n\r\n", false),
        ("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n\r\n", false),
        ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
        ("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", true),
    ])
    func keepAlive(head: String, reusable: Bool) throws {
        #expect(try HTTPConnection.Head(Array(head.utf8)[...]).keepAlive == reusable)
    }

    @Test("status, Content-Length and chunked are read from the head, header names in any case")
    func head() throws {
        let head = try HTTPConnection.Head(Array("HTTP/1.1 204 No Content\r\ncontent-LENGTH: 12\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n".utf8)[...])
        #expect(head.status == 204 && head.contentLength == 12 && head.chunked)
        #expect(throws: HTTPClient.Failure.self) { try HTTPConnection.Head(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)[...]) }
    }
}
