import Foundation
import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("Remote write bytes, checked by protoc and python-snappy")
struct RemoteWriteRequestTests {
    static let request = RemoteWriteRequest(timeSeries: [
        TimeSeries(labels: [MetricLabel("__name__", "up"), MetricLabel("job", "pipe\"trace\n")],
                   samples: [.init(value: 1.5, timestamp: 1_700_000_000_123), .init(value: 0, timestamp: -1)]),
        TimeSeries(labels: [MetricLabel("__name__", "pipetrace_events_total")],
                   samples: [.init(value: 123456789, timestamp: 1)]),
    ])

    @Test("varints and zigzag-free int64 as protobuf writes them")
    func varints() {
        var w = ProtobufWriter()
        w.varint(0)
        w.varint(1)
        w.varint(300)
        w.varint(UInt64.max)
        #expect(w.bytes == [0, 1, 0xac, 0x02] + Array(repeating: 0xff, count: 9) + [0x01])
        var negative = ProtobufWriter()
        negative.int64Field(2, -1)
        #expect(negative.bytes == [0x10] + Array(repeating: 0xff, count: 9) + [0x01])
    }

    @Test("protoc --decode reads our WriteRequest", .enabled(if: RootRequirement.enabled(when: Command.exists("protoc"))))
    func protoc() throws {
        let result = try Command.run(["protoc", "--proto_path=\(Repository.fixtures)", "--decode=prometheus.WriteRequest",
                                      "remote.proto"], input: Self.request.encoded())
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == """
            timeseries {
              labels {
                name: "__name__"
                value: "up"
              }
              labels {
                name: "job"
                value: "pipe\\"trace\\n"
              }
              samples {
                value: 1.5
                timestamp: 1700000000123
              }
              samples {
                timestamp: -1
              }
            }
            timeseries {
              labels {
                name: "__name__"
                value: "pipetrace_events_total"
              }
              samples {
                value: 123456789
                timestamp: 1
              }
            }

            """)
    }

    @Test("snappy: our block decodes with python-snappy and round-trips",
          .enabled(if: RootRequirement.enabled(when: (try? Command.run(["python3", "-c", "import snappy"]).status) == 0)))
    func snappy() throws {
        let raw = Self.request.encoded()
        let compressed = Snappy.compress(raw)
        #expect(try Snappy.uncompress(compressed) == raw)
        let result = try Command.run(["python3", "-c", "import sys, snappy; sys.stdout.buffer.write(snappy.uncompress(sys.stdin.buffer.read()))"],
                                     input: compressed)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutBytes == raw)
        #expect(throws: Snappy.Failure.self) { try Snappy.uncompress([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) }
    }
}
