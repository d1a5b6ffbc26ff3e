/// An AMQP 0-9-1 method: its class and method ids (the method frame's first
/// four bytes), named as the specification names them ("queue.declare-ok").
struct AMQPMethod: Sendable, Hashable {
    var classID: UInt16
    var methodID: UInt16

    init(_ classID: UInt16, _ methodID: UInt16) {
        self.classID = classID
        self.methodID = methodID
    }

    /// Which end may send a method: what tells the client from the server when
    /// the parser attaches mid-connection.
    enum Senders: Sendable {
        case client, server, either
    }

    /// Every method of the specification (with RabbitMQ's extensions:
    /// basic.nack, confirm.*, exchange.bind, connection.blocked, update-secret):
    /// name, who sends it, and the method that answers it when it is synchronous.
    static let table: [AMQPMethod: (name: String, senders: Senders, reply: [UInt16])] = [
        AMQPMethod(10, 10): ("connection.start", .server, [11]),
        AMQPMethod(10, 11): ("connection.start-ok", .client, []),
        AMQPMethod(10, 20): ("connection.secure", .server, [21]),
        AMQPMethod(10, 21): ("connection.secure-ok", .client, []),
        AMQPMethod(10, 30): ("connection.tune", .server, [31]),
        AMQPMethod(10, 31): ("connection.tune-ok", .client, []),
        AMQPMethod(10, 40): ("connection.open", .client, [41]),
        AMQPMethod(10, 41): ("connection.open-ok", .server, []),
        AMQPMethod(10, 50): ("connection.close", .either, [51]),
        AMQPMethod(10, 51): ("connection.close-ok", .either, []),
        AMQPMethod(10, 60): ("connection.blocked", .server, []),
        AMQPMethod(10, 61): ("connection.unblocked", .server, []),
        AMQPMethod(10, 70): ("connection.update-secret", .client, [71]),
        AMQPMethod(10, 71): ("connection.update-secret-ok", .server, []),
        AMQPMethod(20, 10): ("channel.open", .client, [11]),
        AMQPMethod(20, 11): ("channel.open-ok", .server, []),
        AMQPMethod(20, 20): ("channel.flow", .either, [21]),
        AMQPMethod(20, 21): ("channel.flow-ok", .either, []),
        AMQPMethod(20, 40): ("channel.close", .either, [41]),
        AMQPMethod(20, 41): ("channel.close-ok", .either, []),
        AMQPMethod(40, 10): ("exchange.declare", .client, [11]),
        AMQPMethod(40, 11): ("exchange.declare-ok", .server, []),
        AMQPMethod(40, 20): ("exchange.delete", .client, [21]),
        AMQPMethod(40, 21): ("exchange.delete-ok", .server, []),
        AMQPMethod(40, 30): ("exchange.bind", .client, [31]),
        AMQPMethod(40, 31): ("exchange.bind-ok", .server, []),
        AMQPMethod(40, 40): ("exchange.unbind", .client, [51]),
        AMQPMethod(40, 51): ("exchange.unbind-ok", .server, []),
        AMQPMethod(50, 10): ("queue.declare", .client, [11]),
        AMQPMethod(50, 11): ("queue.declare-ok", .server, []),
        AMQPMethod(50, 20): ("queue.bind", .client, [21]),
        AMQPMethod(50, 21): ("queue.bind-ok", .server, []),
        AMQPMethod(50, 30): ("queue.purge", .client, [31]),
        AMQPMethod(50, 31): ("queue.purge-ok", .server, []),
        AMQPMethod(50, 40): ("queue.delete", .client, [41]),
        AMQPMethod(50, 41): ("queue.delete-ok", .server, []),
        AMQPMethod(50, 50): ("queue.unbind", .client, [51]),
        AMQPMethod(50, 51): ("queue.unbind-ok", .server, []),
        AMQPMethod(60, 10): ("basic.qos", .client, [11]),
        AMQPMethod(60, 11): ("basic.qos-ok", .server, []),
        AMQPMethod(60, 20): ("basic.consume", .client, [21]),
        AMQPMethod(60, 21): ("basic.consume-ok", .server, []),
        AMQPMethod(60, 30): ("basic.cancel", .either, [31]),
        AMQPMethod(60, 31): ("basic.cancel-ok", .either, []),
        AMQPMethod(60, 40): ("basic.publish", .client, []),
        AMQPMethod(60, 50): ("basic.return", .server, []),
        AMQPMethod(60, 60): ("basic.deliver", .server, []),
        AMQPMethod(60, 70): ("basic.get", .client, [71, 72]),
        AMQPMethod(60, 71): ("basic.get-ok", .server, []),
        AMQPMethod(60, 72): ("basic.get-empty", .server, []),
        AMQPMethod(60, 80): ("basic.ack", .either, []),
        AMQPMethod(60, 90): ("basic.reject", .client, []),
        AMQPMethod(60, 100): ("basic.recover-async", .client, []),
        AMQPMethod(60, 110): ("basic.recover", .client, [111]),
        AMQPMethod(60, 111): ("basic.recover-ok", .server, []),
        AMQPMethod(60, 120): ("basic.nack", .either, []),
        AMQPMethod(85, 10): ("confirm.select", .client, [11]),
        AMQPMethod(85, 11): ("confirm.select-ok", .server, []),
        AMQPMethod(90, 10): ("tx.select", .client, [11]),
        AMQPMethod(90, 11): ("tx.select-ok", .server, []),
        AMQPMethod(90, 20): ("tx.commit", .client, [21]),
        AMQPMethod(90, 21): ("tx.commit-ok", .server, []),
        AMQPMethod(90, 30): ("tx.rollback", .client, [31]),
        AMQPMethod(90, 31): ("tx.rollback-ok", .server, []),
    ]

    var isKnown: Bool { AMQPMethod.table[self] != nil }

    /// "queue.declare"; "unknown.<class>.<method>" for ids the table does not have.
    var name: String { AMQPMethod.table[self]?.name ?? "unknown.\(classID).\(methodID)" }

    /// The methods that answer this one when it is synchronous (empty: none).
    var replies: [UInt16] { AMQPMethod.table[self]?.reply ?? [] }

    static let connectionClose = AMQPMethod(10, 50), connectionCloseOK = AMQPMethod(10, 51)
    static let blocked = AMQPMethod(10, 60), unblocked = AMQPMethod(10, 61)
    static let channelOpen = AMQPMethod(20, 10)
    static let channelClose = AMQPMethod(20, 40), channelCloseOK = AMQPMethod(20, 41)
    static let queueDeclareOK = AMQPMethod(50, 11)
    static let consume = AMQPMethod(60, 20), consumeOK = AMQPMethod(60, 21)
    static let publish = AMQPMethod(60, 40), basicReturn = AMQPMethod(60, 50)
    static let deliver = AMQPMethod(60, 60), get = AMQPMethod(60, 70), getOK = AMQPMethod(60, 71)
    static let ack = AMQPMethod(60, 80), reject = AMQPMethod(60, 90), nack = AMQPMethod(60, 120)
    static let confirmSelect = AMQPMethod(85, 10)
}

/// A bounds-checked reader of AMQP's argument types over one frame's
/// payload: no input makes it read outside the payload.
struct AMQPReader {
    struct Malformed: Error, Sendable {}

    private let bytes: ArraySlice<UInt8>
    private(set) var index: Int
    /// Consecutive bit arguments share an octet (the specification's packing).
    private var bits: (octet: UInt8, used: Int)?

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - index }

    private mutating func take(_ n: Int) throws(Malformed) -> ArraySlice<UInt8> {
        bits = nil
        guard n >= 0, n <= remaining else { throw Malformed() }
        defer { index += n }
        return bytes[index..<(index + n)]
    }

    private mutating func integer(_ n: Int) throws(Malformed) -> UInt64 {
        try take(n).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func octet() throws(Malformed) -> UInt8 { UInt8(try integer(1)) }
    mutating func short() throws(Malformed) -> UInt16 { UInt16(try integer(2)) }
    mutating func long() throws(Malformed) -> UInt32 { UInt32(try integer(4)) }
    mutating func longlong() throws(Malformed) -> UInt64 { try integer(8) }

    mutating func shortString() throws(Malformed) -> String {
        let n = Int(try octet())
        return String(decoding: try take(n), as: UTF8.self)
    }

    /// A field table or long string: skipped by its length.
    mutating func skipLong() throws(Malformed) { _ = try take(Int(try long())) }

    /// The next bit argument (bits after the first share its octet, up to eight).
    mutating func bit() throws(Malformed) -> Bool {
        if let (octet, used) = bits, used < 8 {
            bits = (octet, used + 1)
            return octet & (1 << used) != 0
        }
        let octet = try octet()
        bits = (octet, 1)
        return octet & 1 != 0
    }
}
