import Foundation
import TestSupport

extension Repository {
    static let fixtures = root.appendingPathComponent("Tests/PipelineTests/Fixtures")
    /// A backend that delays a known path by a known time.
    static let backend = fixture("PipelineTests", "backend.py")
    /// A client that measures its own request times.
    static let client = fixture("PipelineTests", "client.py")
}

extension Repository {
    /// A grpcio server: unary Say and Fail, server-streaming Watch.
    static let grpcServer = fixture("PipelineTests", "grpc_server.py")
    /// A grpcio client that reports its own status codes, message counts and times.
    static let grpcClient = fixture("PipelineTests", "grpc_client.py")
}

extension Repository {
    /// A line protocol pipetrace does not parse: its connections are tcp flows of turns.
    static let turns = fixture("PipelineTests", "turns.py")
}

extension Repository {
    /// An HTTP/2 server (hyper-h2) that accepts `Upgrade: h2c`.
    static let h2cServer = fixture("PipelineTests", "h2c_server.py")
    /// A kafka-python producer or consumer that reports what it sent, read, and its own lag.
    static let kafkaClient = fixture("PipelineTests", "kafka_client.py")
}

extension Repository {
    /// A grpcio server of the OTLP collector's TraceService that fails its first calls with the codes asked for.
    static let otlpServer = fixture("PipelineTests", "otlp_server.py")
    /// OpenTelemetry Python's OTLP/gRPC span exporter, each of its calls timed by an interceptor.
    static let otlpClient = fixture("PipelineTests", "otlp_client.py")
}
