/// What a Kafka record's `kafka.*` attributes are made of. Equal facts make
/// equal attributes, and a connection's requests mostly repeat them (one
/// client id, API version, acks or max wait), so the parser keeps the last
/// dictionary made and hands it out again while the facts stay the same:
/// one retain per record instead of a dictionary built and five keys hashed.
struct KafkaAttributes: Equatable, Sendable {
    var apiKey: Int16 = -1
    var version: Int16 = -1
    var clientID: String?
    var group: String?
    var acks: Int16?
    var maxWaitMs: Int32?
    var minBytes: Int32?
    var requestMalformed = false
    /// Set from the response; nil before it (or when it carries none).
    var throttleMs: Int32?
    var responseMalformed = false

    /// None yet: no request read.
    init() {}

    var dictionary: [String: String] {
        var a = Dictionary<String, String>(minimumCapacity: 6)
        a["kafka.api_version"] = String(version)
        if !KafkaAPI.isKnown(apiKey) { a["kafka.api_key"] = String(apiKey) }
        if let clientID, !clientID.isEmpty { a["kafka.client_id"] = clientID }
        if let group, apiKey != KafkaAPI.findCoordinator { a["kafka.group_id"] = group }
        if let acks { a["kafka.acks"] = String(acks) }
        if let maxWaitMs {
            a["kafka.max_wait_ms"] = String(maxWaitMs)
            // A Fetch the broker may hold until data comes: its time is mostly waiting.
            if maxWaitMs > 0, (minBytes ?? 0) > 0 { a["kafka.long_poll"] = "true" }
        }
        if let throttleMs { a["kafka.throttle_ms"] = String(throttleMs) }
        if requestMalformed { a["kafka.malformed"] = "request" }
        if responseMalformed { a["kafka.malformed"] = "response" }
        return a
    }

    /// The last facts and the dictionary made of them. Nothing here is
    /// optional: comparing or binding an optional `KafkaAttributes` went
    /// through the runtime's generic copies, as costly as the hashing saved.
    struct Memo: Sendable {
        private var facts = KafkaAttributes()
        private var made: [String: String] = [:]

        mutating func dictionary(_ new: KafkaAttributes) -> [String: String] {
            if !made.isEmpty && facts == new { return made }
            facts = new
            made = new.dictionary
            return made
        }
    }
}
