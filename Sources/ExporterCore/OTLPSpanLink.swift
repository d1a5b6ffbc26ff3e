import Analyzer

/// A link from one span of a broker chain to the other: from the Kafka
/// Fetch that carried a batch to the Produce that sent it, from an AMQP
/// delivery to the publish of its message (or, when the receiving end
/// completed first, the other way round). Attributes by the messaging
/// semantic conventions, about the linked span's side.
///
///     message Link { bytes trace_id = 1; bytes span_id = 2; repeated KeyValue attributes = 4; }
public struct OTLPSpanLink: Sendable, Hashable {
    var trace: OTLPSpan.TraceID
    var span: UInt64
    public var chain: BrokerChain
    /// The linked span's operation: "publish" (its Produce or publish) or "receive" (its Fetch or delivery).
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
                switch link.chain {
                case .kafka(let chain):
                    OTLPAttribute.write("messaging.system", .string("kafka"), 4, into: &l)
                    OTLPAttribute.write("messaging.operation", .string(link.operation.description), 4, into: &l)
                    OTLPAttribute.write("messaging.destination.name", .string(chain.topic), 4, into: &l)
                    OTLPAttribute.write("messaging.destination.partition.id", .string(String(chain.partition)), 4, into: &l)
                    OTLPAttribute.write("messaging.kafka.offset", .int(chain.offset), 4, into: &l)
                    if let records = chain.records {
                        OTLPAttribute.write("messaging.batch.message_count", .int(Int64(records)), 4, into: &l)
                    }
                    OTLPAttribute.write("pipetrace.kafka.broker_ms", .double(Double(chain.brokerTime) / 1e6), 4, into: &l)
                case .amqp(let chain):
                    OTLPAttribute.write("messaging.system", .string("rabbitmq"), 4, into: &l)
                    OTLPAttribute.write("messaging.operation", .string(link.operation.description), 4, into: &l)
                    let exchange = chain.exchange.isEmpty ? "amq.default" : chain.exchange
                    OTLPAttribute.write("messaging.destination.name", .string(exchange), 4, into: &l)
                    OTLPAttribute.write("messaging.rabbitmq.destination.routing_key", .string(chain.routingKey), 4, into: &l)
                    if let id = chain.messageID { OTLPAttribute.write("messaging.message.id", .string(id), 4, into: &l) }
                    OTLPAttribute.write("pipetrace.amqp.broker_ms", .double(Double(chain.brokerTime) / 1e6), 4, into: &l)
                    if let processing = chain.processingTime {
                        OTLPAttribute.write("pipetrace.amqp.consumer_ms", .double(Double(processing) / 1e6), 4, into: &l)
                    }
                }
            }
        }
    }
}
