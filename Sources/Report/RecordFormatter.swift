import Analyzer
import Events

/// How the request verbs print one record for people: durations in
/// milliseconds with three decimals, sizes in B/KiB/MiB, unknown values as
/// "-" (never a made-up zero).
public enum RecordFormatter {
    public static func milliseconds(_ nanoseconds: UInt64?) -> String {
        guard let nanoseconds else { return "-" }
        return fixed(Double(nanoseconds) / 1e6, decimals: 3)
    }

    public static func milliseconds(_ nanoseconds: Double) -> String { fixed(nanoseconds / 1e6, decimals: 3) }

    public static func bytes(_ n: UInt64) -> String {
        if n < 1024 { return "\(n) B" }
        if n < 1 << 20 { return fixed(Double(n) / 1024, decimals: 1) + " KiB" }
        return fixed(Double(n) / Double(1 << 20), decimals: 1) + " MiB"
    }

    public static func fixed(_ value: Double, decimals: Int) -> String {
        var w = JSONWriter()
        w.field("v", value, decimals: decimals)
        var text = String(decoding: w.bytes.dropFirst(4), as: UTF8.self)
        // JSONWriter trims trailing zeros; a column reads better with them.
        let dot = text.firstIndex(of: ".")
        let have = dot.map { text.distance(from: $0, to: text.endIndex) - 1 } ?? -1
        if decimals > 0 {
            if have < 0 { text += "." }
            text += String(repeating: "0", count: decimals - max(0, have))
        }
        return text
    }

    /// "GET /slow 200" (method, target, status as far as known).
    public static func request(_ r: RequestRecord) -> String {
        "\(RequestRecord.operationText(r.method, r.target)) \(r.status.map(String.init) ?? "-")"
    }

    /// One line for `pipetrace watch`: when, which hop, what, how long and where the time went;
    /// the Kafka batches (produce → fetch) and AMQP messages (publish → deliver) whose chain the record completes.
    public static func line(_ r: RequestRecord, chains: [BrokerChain] = []) -> String {
        let time = String(WallClock.rfc3339(unixNanoseconds: r.start).dropFirst(11).prefix(12))
        var line = "\(time) \(pad(r.hop ?? "?", 24)) \(pad(request(r), 40)) \(leftPad(milliseconds(r.duration), 10)) ms"
        line += "  server \(milliseconds(r.serverTime))  net \(milliseconds(r.network))"
        line += "  \(bytes(r.requestBytes))→\(bytes(r.responseBytes))"
        if r.retransmits > 0 { line += "  retransmits \(r.retransmits)" }
        if !r.isComplete { line += "  (incomplete)" }
        if let parent = r.parent { line += "  parent #\(parent)" }
        for chain in chains {
            switch chain {
            case .kafka(let k): line += "  produce #\(k.produce.id) → fetch #\(k.fetch.id) " + kafka(k)
            case .amqp(let a): line += "  publish #\(a.publish.id) → \(a.gotByPolling ? "get" : "deliver") #\(a.deliver.id) " + amqp(a)
            }
        }
        return line + "  #\(r.id)\n"
    }

    /// A Kafka batch's chain: "events[0]@42, 3.100 ms in broker".
    public static func kafka(_ k: KafkaChain) -> String {
        "\(k.topic)[\(k.partition)]@\(k.offset), \(milliseconds(k.brokerTime)) ms in broker"
    }

    /// An AMQP message's chain: "amq.default/jobs m1, 3.100 ms in broker, 20.000 ms in consumer"
    /// ("…, got by basic.get" for a message a consumer polled for).
    public static func amqp(_ a: AMQPChain) -> String {
        "\(a.destination)\(a.messageID.map { " " + $0 } ?? ""), \(milliseconds(a.brokerTime)) ms in broker, "
            + (a.processingTime.map { "\(milliseconds($0)) ms in consumer" } ?? "got by basic.get")
    }

    /// A hop's broker chain, as `kafka` or `amqp` print it.
    public static func chain(_ chain: BrokerChain) -> String {
        switch chain {
        case .kafka(let k): kafka(k)
        case .amqp(let a): amqp(a)
        }
    }

    public static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    public static func leftPad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
