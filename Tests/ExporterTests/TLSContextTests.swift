import Glibc
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("TLS context: names it cannot check fail closed, before a byte is sent")
struct TLSContextTests {
    /// A listening TCP socket on 127.0.0.1 and its port; the kernel completes the handshake, nobody speaks TLS.
    private func listener() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                try #require(bind(fd, a, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, a, &length) == 0)
            }
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    @Test("an empty host, a host with a NUL byte and a name too long for SNI are refused with reason tls",
          arguments: ["", "a\u{0}b", String(repeating: "a", count: 300)])
    func refusedNames(host: String) throws {
        let (fd, port) = try listener()
        defer { close(fd) }
        let socket = try Socket.connect(host: "127.0.0.1", port: port, timeout: 2)
        let context = try TLSContext()
        let failure = #expect(throws: Socket.Failure.self) { try context.connect(socket, host: host, port: port) }
        #expect(failure?.reason == "tls")
        #expect(failure?.description.hasPrefix("TLS: ") == true, "\(failure?.description ?? "")")
        // Nothing was sent: the listener's connection has no bytes waiting.
        let accepted = accept(fd, nil, nil)
        defer { close(accepted) }
        var byte: UInt8 = 0
        #expect(recv(accepted, &byte, 1, Int32(MSG_DONTWAIT)) == -1 && errno == EAGAIN)
    }
}
