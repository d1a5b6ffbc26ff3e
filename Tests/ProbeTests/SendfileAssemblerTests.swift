import Events
import Testing
@testable import Probe

@Suite("sendfile's bytes joined to their event")
struct SendfileAssemblerTests {
    func sendfile(on connection: UInt64, length: UInt64) -> DataEvent {
        let header = EventHeader(pid: 1, tid: 1, comm: "nginx", netns: 1, cgroupID: 1, connectionID: connection, timestamp: 1,
                                 tuple: SocketTuple(local: Endpoint(address: IPAddress(ipv4: [10, 0, 0, 2]), port: 80),
                                                    remote: Endpoint(address: IPAddress(ipv4: [10, 0, 0, 1]), port: 40000)))
        return DataEvent(header: header, enterTimestamp: 0, direction: .egress, syscall: .sendfile, fd: 5, role: .server,
                         length: length, payload: [])
    }

    func add(_ assembler: inout SendfileAssembler, _ connection: UInt64, _ offset: Int, _ text: String) {
        Array(text.utf8).withUnsafeBytes { assembler.add(connectionID: connection, offset: offset, bytes: $0) }
    }

    func completed(_ assembler: inout SendfileAssembler, _ connection: UInt64, length: UInt64, cap: Int = 4096) -> String {
        var event = sendfile(on: connection, length: length)
        assembler.complete(&event, cap: cap)
        return String(decoding: event.payload, as: UTF8.self) + (event.payloadUnavailable ? "(unavailable)" : "")
    }

    @Test("two sendfiles in progress at once each get their own bytes, in order, repeats left out")
    func interleaved() {
        var a = SendfileAssembler()
        add(&a, 1, 0, "hello ")
        add(&a, 2, 0, "other ")
        add(&a, 1, 6, "world")
        add(&a, 1, 0, "hello ") // a retransmission of bytes already held
        add(&a, 2, 6, "file")
        #expect(completed(&a, 2, length: 10) == "other file")
        #expect(completed(&a, 1, length: 11) == "hello world")
        #expect(completed(&a, 1, length: 5) == "(unavailable)")
    }

    @Test("bytes whose start was not seen are not kept; the payload is cut to the cap and to the length")
    func cut() {
        var a = SendfileAssembler()
        add(&a, 3, 4, "late")
        #expect(completed(&a, 3, length: 8) == "(unavailable)")
        add(&a, 4, 0, "0123456789")
        #expect(completed(&a, 4, length: 10, cap: 4) == "0123")
        add(&a, 5, 0, "0123456789")
        #expect(completed(&a, 5, length: 6) == "012345")
    }
}
