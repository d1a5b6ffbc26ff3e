import Analyzer
import CaptureFormats
import Testing

@Suite("request summaries in packet comments")
struct AnnotatedPacketSummaryTests {
    static func record(_ protocolName: String, _ method: String?, _ target: String?, _ status: Int?) -> RequestRecord {
        RequestRecord(id: 1, start: 0, duration: 14_800_000, protocolName: protocolName, method: method, target: target,
                      status: status, requestBytes: 1, responseBytes: 1, client: .init(container: "collector"),
                      server: .init(container: "lb"), side: .both)
    }

    @Test("HTTP/1, HTTP/2 and gRPC each say what they are; gRPC once by its method, with the outcome; unknown names are ?")
    func summaries() {
        #expect(AnnotatedPacket.summary(Self.record("http/1.1", "GET", "/metrics", 200)) == "HTTP GET /metrics 200 14.8 ms hop collector→lb")
        #expect(AnnotatedPacket.summary(Self.record("h2", "GET", "/plain", 404)) == "HTTP/2 GET /plain 404 14.8 ms hop collector→lb")
        #expect(AnnotatedPacket.summary(Self.record("grpc", "demo.Echo/Say", "/demo.Echo/Say", 5))
                == "gRPC demo.Echo/Say 5 client_error 14.8 ms hop collector→lb")
        #expect(AnnotatedPacket.summary(Self.record("h2", "POST", nil, 200)) == "HTTP/2 POST ? 200 14.8 ms hop collector→lb")
    }

    @Test("AMQP names its method, its destination and the method that answered it, with a reply code where there is one")
    func amqp() {
        var publish = Self.record("amqp", "basic.publish", "logs/app.error", nil)
        publish.attributes["amqp.reply"] = "basic.ack"
        #expect(AnnotatedPacket.summary(publish) == "AMQP basic.publish logs/app.error basic.ack 14.8 ms hop collector→lb")
        var refused = Self.record("amqp", "queue.declare", "missing", 404)
        refused.attributes["amqp.reply"] = "channel.close"
        #expect(AnnotatedPacket.summary(refused) == "AMQP queue.declare missing channel.close 404 14.8 ms hop collector→lb")
        #expect(AnnotatedPacket.summary(Self.record("amqp", "basic.deliver", "logs/app.error", nil))
                == "AMQP basic.deliver logs/app.error no answer 14.8 ms hop collector→lb")
    }
}
