import Analyzer

/// A link from one span of a Kafka batch's chain to the other: from the
/// Fetch that carried the batch to the Produce that sent it (or, when the
/// fetch completed first, from the Produce to that Fetch). Attributes by
/// the messaging semantic conventions, about the linked span's side.
///
///     message Link { bytes trace_id = 1; bytes span_id = 2; repeated KeyValue attributes = 4; }
public struct OTLPSpanLink: Sendable, Hashable {
    var trace: OTLPSpan.TraceID
    var span: UInt64
    public var chain: KafkaChain
    /// The linked span's operation: "publish" (its Produce) or "receive" (its Fetch).
    public var operation: StaticString

    public static func == (a: OTLPSpanLink, b: OTLPSpanLink) -> Bool {
        a.trace == b.trace && a.span == b.span && a.chain == b.chain && a.operation.description == b.operation.description
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(span)
        hasher.combine(chain)
    }

    /// 16 bytes: the linked span's trace.
    public var traceID: [UInt8] { OTLPSpan.bytes(trace.high, trace.low) }
    /// 8 bytes: the linked span.
    public var spanID: [UInt8] { OTLPSpan.bytes(span) }

    /// The links as `links` fields (13) of a Span; nothing for none.
    static func write(_ links: [OTLPSpanLink], into w: inout ProtobufWriter) {
        for link in links {
            w.messageField(13) { l in
                OTLPSpan.write(1, link.trace.high, link.trace.low, into: &l)
                OTLPSpan.write(2, link.span, into: &l)
                OTLPAttribute.write("messaging.system", .string("kafka"), 4, into: &l)
                OTLPAttribute.write("messaging.operation", .string(link.operation.description), 4, into: &l)
                OTLPAttribute.write("messaging.destination.name", .string(link.chain.topic), 4, into: &l)
                OTLPAttribute.write("messaging.destination.partition.id", .string(String(link.chain.partition)), 4, into: &l)
                OTLPAttribute.write("messaging.kafka.offset", .int(link.chain.offset), 4, into: &l)
                if let records = link.chain.records {
                    OTLPAttribute.write("messaging.batch.message_count", .int(Int64(records)), 4, into: &l)
                }
                OTLPAttribute.write("pipetrace.kafka.broker_ms", .double(Double(link.chain.brokerTime) / 1e6), 4, into: &l)
            }
        }
    }
}
