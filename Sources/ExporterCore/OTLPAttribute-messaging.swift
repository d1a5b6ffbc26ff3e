import Analyzer

extension OTLPAttribute {
    /// AMQP's attributes by the messaging semantic conventions (RabbitMQ): the
    /// system, the operation, and the destination from the record's resource
    /// ("exchange/routing-key" for a publish or a delivery, else a queue or an
    /// exchange). Only what follows from the fields `RepeatedAttributes.matches` compares.
    @inline(__always)
    static func eachAMQP(_ r: RequestRecord, _ body: (StaticString, Field) -> Void) {
        body("messaging.system", .string("rabbitmq"))
        guard let method = r.method else { return }
        body("messaging.operation.name", .string(method))
        switch method {
        case "basic.publish": body("messaging.operation", .string("publish"))
        case "basic.deliver": body("messaging.operation", .string("process"))
        case "basic.get": body("messaging.operation", .string("receive"))
        default: break
        }
        guard let target = r.target else { return }
        if method == "basic.publish" || method == "basic.deliver", let slash = offset(of: UInt8(ascii: "/"), in: target) {
            body("messaging.destination.name", .slice(target, from: 0, to: slash))
            body("messaging.rabbitmq.destination.routing_key", .slice(target, from: slash + 1, to: target.utf8.count))
        } else {
            body("messaging.destination.name", .string(target))
        }
        if let status = r.status { body("pipetrace.amqp.reply_code", .int(Int64(status))) }
    }
}
