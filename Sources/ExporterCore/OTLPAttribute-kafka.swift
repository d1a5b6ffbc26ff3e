import Analyzer

extension OTLPAttribute {
    /// A Kafka record's attributes by the messaging semantic conventions:
    /// the system, the operation (a Produce publishes, a Fetch receives; the
    /// API by name for every one), the destination (its topics) or, for the
    /// group APIs, the consumer group, and the error code when not 0.
    @inline(__always)
    static func eachKafka(_ r: RequestRecord, _ body: (StaticString, Field) -> Void) {
        body("messaging.system", .string("kafka"))
        if let method = r.method {
            body("messaging.operation.name", .string(method))
            if method == "Produce" { body("messaging.operation", .string("publish")) }
            if method == "Fetch" { body("messaging.operation", .string("receive")) }
        }
        if let group = r.attributes["kafka.group_id"] {
            body("messaging.consumer.group.name", .string(group))
        } else if let target = r.target {
            body("messaging.destination.name", .string(target))
        }
        if let status = r.status, status != 0 { body("error.type", .string(String(status))) }
    }
}
