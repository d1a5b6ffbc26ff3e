import Analyzer
import CaptureFormats
import Events
import Testing

@Suite("Tracee JSON writer")
struct TraceeJSONWriterTests {
    let writer = TraceeJSONWriter(wallClock: WallClock(offsetNanoseconds: 0), hostName: "vm")

    @Test("a packet is one net_packet_raw line in Tracee's field order, the packet in base64")
    func rawPacket() {
        let packet = Fixtures.packet([0x45, 0, 0, 20, 1], header: Fixtures.header())
        let line = String(decoding: writer.encode(packet), as: UTF8.self)
        #expect(line == """
        {"timestamp":1700000000123456789,"threadStartTime":0,"processorId":0,"processId":42,"cgroupId":7,"threadId":42,\
        "parentProcessId":0,"hostProcessId":42,"hostThreadId":42,"hostParentProcessId":0,"userId":0,"mountNamespace":0,\
        "pidNamespace":0,"processName":"curl","executable":{"path":""},"hostName":"vm","containerId":"lb",\
        "container":{"id":"lb","name":"lb"},"kubernetes":{},"eventId":"701","eventName":"net_packet_raw",\
        "matchedPolicies":[],"argsNum":1,"returnValue":0,"syscall":"","stackAddresses":[],\
        "contextFlags":{"containerStarted":true,"isCompat":false},"threadEntityId":0,"processEntityId":0,"parentEntityId":0,\
        "args":[{"name":"data","type":"[]byte","value":"RQAAFAE="}]}

        """)
    }

    @Test("the first packet of a request also gives net_packet_http_request with Tracee's PktMeta and ProtoHTTPRequest")
    func httpRequest() {
        let payload = Array("GET /metrics?x=1 HTTP/1.1\r\nHost: lb:8080\r\nuser-agent: curl\r\nAccept: */*\r\n\r\n".utf8)
        var packet = Fixtures.packet(Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server, payload: payload))
        packet.requestStarted = RecordFixtures.record()
        let lines = String(decoding: writer.encode(packet), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[1].contains(#""eventId":"2010","eventName":"net_packet_http_request""#))
        #expect(lines[1].hasSuffix("""
        "args":[{"name":"metadata","type":"trace.PktMeta","value":{"src_ip":"10.0.0.2","dst_ip":"10.0.0.1","src_port":40000,\
        "dst_port":8080,"protocol":6,"packet_len":\(40 + payload.count),"iface":"eth0"}},{"name":"http_request",\
        "type":"trace.ProtoHTTPRequest","value":{"method":"GET","protocol":"HTTP/1.1","host":"lb:8080","uri_path":"/metrics",\
        "headers":{"User-Agent":["curl"],"Accept":["*/*"]},"content_length":0}}]}
        """))
    }

    @Test("the first packet of a response gives net_packet_http_response")
    func httpResponse() {
        let payload = Array("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc".utf8)
        var packet = Fixtures.packet(Fixtures.tcpPacket(from: Fixtures.server, to: Fixtures.client, payload: payload))
        packet.responseStarted = RecordFixtures.record()
        let lines = String(decoding: writer.encode(packet), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[1].hasSuffix("""
        {"name":"http_response","type":"trace.ProtoHTTPResponse","value":{"status":"200 OK","status_code":200,\
        "protocol":"HTTP/1.1","headers":{"Content-Length":["3"]},"content_length":3}}]}
        """))
    }

    @Test("connections become net_flow_tcp_begin and _end from the connecting side to the accepting side")
    func flows() {
        let opened = ConnectionEvent(header: Fixtures.header(local: Fixtures.server, remote: Fixtures.client), fd: 5, role: .server)
        let line = String(decoding: writer.encode(.connectionOpened(opened)), as: UTF8.self)
        #expect(line.contains(#""eventId":"2013","eventName":"net_flow_tcp_begin""#))
        #expect(line.hasSuffix("""
        "args":[{"name":"conn_direction","type":"string","value":"incoming"},{"name":"src","type":"string","value":"10.0.0.2"},\
        {"name":"dst","type":"string","value":"10.0.0.1"},{"name":"src_port","type":"uint16","value":40000},\
        {"name":"dst_port","type":"uint16","value":8080},{"name":"src_dns","type":"[]string","value":[]},\
        {"name":"dst_dns","type":"[]string","value":[]}]}

        """))
        let closed = String(decoding: writer.encode(.connectionClosed(opened)), as: UTF8.self)
        #expect(closed.contains(#""eventName":"net_flow_tcp_end""#) && closed.contains(#""argsNum":7"#))
    }

    @Test("a request record is pipetrace_request, an id above Tracee's, with its summary and the record's own JSON")
    func request() {
        let record = RecordFixtures.record()
        let line = String(decoding: writer.encode(.request(record)), as: UTF8.self)
        #expect(line.hasPrefix(#"{"timestamp":1700000000000000000,"#))
        #expect(line.contains(#""eventId":"10000","eventName":"pipetrace_request""#))
        #expect(line.contains(#""argsNum":2,"#))
        #expect(line.contains(#"{"name":"summary","type":"string","value":"\#(AnnotatedPacket.summary(record))"}"#))
        #expect(line.hasSuffix(#"{"name":"record","type":"unknown","value":\#(record.json)}]}"# + "\n"))
    }

    @Test("a retransmit is pipetrace_retransmit with Go-named argument types Traceeshark dissects")
    func retransmit() {
        let event = RetransmitEvent(header: Fixtures.header(local: Fixtures.server, remote: Fixtures.client), segments: 2,
                                    sequence: 1000, state: .established, error: 0)
        let line = String(decoding: writer.encode(.retransmit(event)), as: UTF8.self)
        #expect(line.contains(#""eventId":"10001","eventName":"pipetrace_retransmit""#))
        #expect(line.hasSuffix("""
        "args":[{"name":"src","type":"string","value":"10.0.0.1"},{"name":"dst","type":"string","value":"10.0.0.2"},\
        {"name":"src_port","type":"uint16","value":8080},{"name":"dst_port","type":"uint16","value":40000},\
        {"name":"seq","type":"uint32","value":1000},{"name":"segments","type":"uint32","value":2},\
        {"name":"state","type":"string","value":"ESTABLISHED"}]}

        """))
    }

    @Test("base64 as Go encodes a []byte", arguments: [([UInt8](), ""), ([0x66], "Zg=="), ([0x66, 0x6f], "Zm8="),
                                                       (Array("foobar".utf8), "Zm9vYmFy")])
    func base64(bytes: [UInt8], expected: String) {
        #expect(Base64.encode(bytes) == expected)
    }
}
