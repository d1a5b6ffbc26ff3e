@testable import Analyzer
import Events
import Foundation
import Redaction
import Testing

@Suite("Request records")
struct RequestRecordTests {
    static let record = RequestRecord(
        id: 42, start: 1_763_701_923_123_456_789, duration: 12_345_678, protocolName: "http/1.1",
        method: "POST", target: "/api/v1/push?x=\"1\"", status: 204, requestBytes: 1000, responseBytes: 0,
        client: .init(ip: "10.0.0.1", port: 40000, pid: 7, comm: "prometheus", container: "prom"),
        server: .init(ip: "::1", port: 9009, pid: 8, comm: "mimir", container: "mimir", containerID: "3f2a9c1b7d4e"),
        side: .both, network: 345_678, serverTime: 12_000_000, retransmits: 2, parent: 41)

    @Test("JSON field names and formats are the stable interface")
    func json() {
        #expect(RequestRecordTests.record.json == #"{"id":42,"start":"2025-11-21T05:12:03.123456789Z","duration_ms":12.345678,"protocol":"http/1.1","method":"POST","target":"/api/v1/push?x=\"1\"","status":204,"request_bytes":1000,"response_bytes":0,"client":{"ip":"10.0.0.1","port":40000,"pid":7,"comm":"prometheus","container":"prom","container_id":null},"server":{"ip":"::1","port":9009,"pid":8,"comm":"mimir","container":"mimir","container_id":"3f2a9c1b7d4e"},"side":"both","network_ms":0.345678,"server_ms":12,"retransmits":2,"hop":"prom→mimir","parent":41,"outcome":"ok"}"#)
    }

    @Test("redaction masks secrets in the target and in attributes, byte for byte, and leaves the rest")
    func redactedAttributes() {
        var record = RequestRecordTests.record
        record.target = "/push?api_key=s3cr3t&tenant=a"
        record.attributes = ["grpc.message": "login failed for https://bob:hunter2@vault/ and ?password=pw1", "x-api-key": "abcd",
                             "rpc.method": "Push"]
        let redacted = record.redacted(by: Redactor())
        #expect(redacted.target == "/push?api_key=******&tenant=a")
        #expect(redacted.attributes["x-api-key"] == "****")
        #expect(redacted.attributes["grpc.message"] == "login failed for https://***:*******@vault/ and ?password=***")
        #expect(redacted.attributes["rpc.method"] == "Push")
        #expect(record.redacted(by: .disabled) == record)
    }

    @Test("the hand-written JSON decodes back into the same record")
    func decodesWrittenJSON() throws {
        let decoded = try JSONDecoder().decode(RequestRecord.self, from: Data(RequestRecordTests.record.json.utf8))
        #expect(decoded == RequestRecordTests.record)
    }

    @Test("Codable round-trips")
    func codable() throws {
        let data = try JSONEncoder().encode(RequestRecordTests.record)
        #expect(try JSONDecoder().decode(RequestRecord.self, from: data) == RequestRecordTests.record)
    }

    @Test("RFC 3339 parsing inverts WallClock's rendering", arguments: [
        Int64(0), 1, 999_999_999, 1_763_701_923_123_456_789, 951_782_400_000_000_000, 4_102_444_799_999_999_999,
    ])
    func rfc3339(_ ns: Int64) {
        #expect(RFC3339.unixNanoseconds(WallClock.rfc3339(unixNanoseconds: ns)) == ns)
    }

    @Test("self time is duration minus time waiting on children, never negative")
    func selfTime() {
        var r = RequestRecordTests.record
        r.childWait = 2_345_678
        #expect(r.selfTime == 10_000_000)
        r.childWait = 99_999_999
        #expect(r.selfTime == 0)
    }
}
