import Foundation
import Glibc
import TestSupport

/// The same three hosts around a RabbitMQ broker (Debian's rabbitmq-server,
/// its own node with its own files under the pipeline's directory, never
/// the system's service) on the lb: a pika publisher on the client, a pika
/// consumer on the backend, each reaching the lb's address on its link.
extension TestPipeline {
    var amqpPort: Int { 5672 }
    var rabbitNode: String { "\(lb)@localhost" }

    /// The node's environment: every file it writes (mnesia, logs, the Erlang cookie in HOME) in `directory`.
    var rabbitEnvironment: [String] {
        let d = directory.appendingPathComponent("rabbitmq").path
        return ["env", "HOME=\(d)", "RABBITMQ_NODENAME=\(rabbitNode)", "RABBITMQ_MNESIA_BASE=\(d)/mnesia",
                "RABBITMQ_LOG_BASE=\(d)/log", "RABBITMQ_CONFIG_FILE=\(d)/rabbitmq",
                "RABBITMQ_ADVANCED_CONFIG_FILE=\(d)/advanced.config",
                "RABBITMQ_ENABLED_PLUGINS_FILE=\(d)/enabled_plugins", "RABBITMQ_PID_FILE=\(d)/rabbitmq.pid"]
    }

    /// Starts the broker (and the namespace's own epmd) and returns once it accepts connections.
    func startRabbitMQ() throws {
        let d = directory.appendingPathComponent("rabbitmq")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        // guest may connect from other hosts: the clients are in other namespaces.
        try "loopback_users = none\nlisteners.tcp.default = \(amqpPort)\n"
            .write(to: d.appendingPathComponent("rabbitmq.conf"), atomically: true, encoding: .utf8)
        try "[].\n".write(to: d.appendingPathComponent("enabled_plugins"), atomically: true, encoding: .utf8)
        servers.append(try Child(exec(lb, rabbitEnvironment + ["/usr/lib/rabbitmq/bin/rabbitmq-server"])))
        for _ in 0..<300 {
            if (try? Shell.run(exec(lb, ["ss", "-Htln", "sport = :\(amqpPort)"])))?.contains(":\(amqpPort)") == true { return }
            usleep(100_000)
        }
        throw Shell.Failure(command: ["rabbitmq-server"], status: -1, stderr: "RabbitMQ did not listen on :\(amqpPort)")
    }

    /// `rabbitmqctl` against the pipeline's node.
    func rabbitmqctl(_ arguments: [String]) throws -> String {
        try Shell.run(exec(lb, rabbitEnvironment + ["/usr/lib/rabbitmq/bin/rabbitmqctl"] + arguments))
    }

    /// Publishes `count` messages to `queue` from the client (`plain`: without confirms and message ids), then
    /// consumes `handle` of them on the backend.
    func startAMQPClients(queue: String, count: Int, handle: Int, delay: Double, plain: Bool = false) throws -> Child {
        let publish = exec(client, ["python3", Repository.amqpClient, "publish", lbAddress, "\(amqpPort)", queue, "\(count)"]
            + (plain ? ["plain"] : []))
        let consume = exec(backend, ["python3", Repository.amqpClient, "consume", lbUpstreamAddress, "\(amqpPort)", queue,
                                     "\(handle)", "\(delay)"])
        return try Child(["sh", "-c", publish.joined(separator: " ") + " && " + consume.joined(separator: " ")])
    }

    /// What the clients reported, one entry per message published or delivered, and what followed.
    func amqpEvents(of clients: Child) throws -> [AMQPClientEvent] {
        let out = clients.readAll()
        guard clients.wait() == 0 else { throw Shell.Failure(command: ["amqp_client.py"], status: -1, stderr: clients.readAllErrors()) }
        return try out.split(separator: "\n").map { try JSONDecoder().decode(AMQPClientEvent.self, from: Data($0.utf8)) }
    }
}

extension Repository {
    /// A pika publisher (confirms) or consumer (manual acks) that reports its own timings.
    static let amqpClient = fixture("PipelineTests", "amqp_client.py")
}

/// One line of amqp_client.py.
struct AMQPClientEvent: Decodable {
    var event: String
    var id: String?
    var tag: UInt64?
    var redelivered: Bool?
    var action: String?
    var seconds: Double?
    var code: Int?
    /// A delivery's body: its first two words ("job 3").
    var body: String?
}

/// tshark's amqp dissector on a capture: every method frame, as "class.method" ids and who sent it.
struct TsharkAMQP {
    var methods: [(fromBroker: Bool, classID: Int, methodID: Int)] = []

    init(capture: String, port: Int) throws {
        let out = try Shell.run(["tshark", "-r", capture, "-d", "tcp.port==\(port),amqp", "-Y", "amqp.method.class",
                                 "-T", "fields", "-E", "separator=|", "-e", "tcp.srcport",
                                 "-e", "amqp.method.class", "-e", "amqp.method.method"])
        for line in out.split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 3 else { continue }
            // Several frames in one packet come comma-separated, in order.
            let classes = f[1].split(separator: ",").compactMap { Int($0) }
            let methods = f[2].split(separator: ",").compactMap { Int($0) }
            for (c, m) in zip(classes, methods) { self.methods.append((f[0] == "\(port)", c, m)) }
        }
    }

    func count(_ classID: Int, _ methodID: Int, fromBroker: Bool? = nil) -> Int {
        methods.filter { $0.classID == classID && $0.methodID == methodID && (fromBroker == nil || $0.fromBroker == fromBroker) }.count
    }
}
