import Analyzer
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("pipetrace's own export traffic is recognized, not traced")
struct OwnTrafficTests {
    func from(_ ip: String, _ port: UInt16, to serverPort: UInt16 = 8428, at serverIP: String? = nil) -> RequestRecord {
        var r = record(ms: 1)
        r.client.ip = ip
        r.client.port = port
        if let serverIP { r.server.ip = serverIP }
        r.server.port = serverPort
        return r
    }

    func connection(_ ip: String, _ port: UInt16, to serverPort: UInt16 = 8428) -> HTTPClient.Connection {
        HTTPClient.Connection(localIP: ip, localPort: port, remoteIP: record(ms: 1).server.ip ?? "", remotePort: serverPort)
    }

    @Test("another program's connection that reuses the local port of one of ours, to another server, is not ours")
    func reusedPort() {
        let own = OwnTraffic()
        own.connected(connection("127.0.0.1", 40001))
        #expect(own.contains(from("127.0.0.1", 40001)))
        #expect(!own.contains(from("127.0.0.1", 40001, to: 8000)), "the kernel gave port 40001 to a test client later")
        #expect(!own.contains(from("127.0.0.1", 40001, at: "10.9.9.9")))
    }

    @Test("a record from one of our client sockets is ours; the same port from another address is not")
    func clients() {
        let own = OwnTraffic()
        own.connected(connection("127.0.0.1", 40001))
        #expect(own.contains(from("127.0.0.1", 40001)))
        #expect(!own.contains(from("10.0.0.9", 40001)))
        #expect(!own.contains(from("127.0.0.1", 40002)))
    }

    @Test("past its capacity the oldest socket is forgotten; another one on the same port is still ours")
    func capacity() {
        let own = OwnTraffic(capacity: 2)
        own.connected(connection("127.0.0.1", 40001))
        own.connected(connection("10.0.0.7", 40001))
        own.connected(connection("127.0.0.1", 40002))
        #expect(!own.contains(from("127.0.0.1", 40001)))
        #expect(own.contains(from("10.0.0.7", 40001)))
        #expect(own.contains(from("127.0.0.1", 40002)))
        own.connected(connection("127.0.0.1", 40003))
        #expect(!own.contains(from("10.0.0.7", 40001)))
    }

    @Test("requests to our /metrics server are ours, on any address when it listens on all of them")
    func server() {
        #expect(OwnTraffic(listen: ("0.0.0.0", 9464)).contains(from("10.0.0.9", 50000, to: 9464)))
        #expect(OwnTraffic(listen: ("10.0.0.2", 9464)).contains(from("10.0.0.9", 50000, to: 9464)))
        #expect(!OwnTraffic(listen: ("127.0.0.1", 9464)).contains(from("10.0.0.9", 50000, to: 9464)))
        #expect(!OwnTraffic(listen: ("0.0.0.0", 9464)).contains(from("10.0.0.9", 50000, to: 9465)))
    }
}
