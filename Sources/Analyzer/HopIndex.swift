/// The records of a run by id and by parent, so a record can be shown with
/// the hops around it: the request it was made to serve (up to the first
/// one of the pipeline) and the requests it made. Parents usually complete
/// after their children, so the chain is only known once the run is over.
/// Bounded: beyond `capacity` records the oldest are forgotten, and their
/// hops are then missing from chains (never wrong, only shorter).
///
/// Only records that can be in someone else's chain are kept: those made
/// to serve another (they have a parent), and server-side or merged views
/// (the analyzer links a child only to an exchange its server end was
/// serving). A client-only record without a parent is never anyone's hop:
/// its own chain is itself, which `chain(for:)` builds from the record it
/// is given. So a capture file, whose records are all client views, keeps
/// nothing here, and a live run keeps a fraction of its records.
///
/// Kafka Produce and Fetch records that moved batches, and AMQP publishes and
/// deliveries, are kept too, and linked by `BrokerChainMatcher`: a produce's
/// (publish's) hop has the fetches of its batches (its message's deliveries)
/// below it; a fetch (delivery) is shown below the produces (publish) of what it carried.
public struct HopIndex: Sendable {
    public let capacity: Int
    private var records = RecordsByID()
    private var children: [UInt64: [UInt64]] = [:]
    private var brokers = BrokerChainMatcher()
    /// Broker chains by the ids of both their ends.
    private var links: [UInt64: [BrokerChain]] = [:]
    private var order: [UInt64] = []
    private var orderStart = 0

    public init(capacity: Int = 200_000) {
        self.capacity = max(1, capacity)
    }

    public mutating func add(_ record: consuming RequestRecord) {
        let mayLink = BrokerChainMatcher.mayLink(record)
        guard record.parent != nil || record.side != .client || mayLink else { return }
        if mayLink {
            for chain in brokers.add(record) {
                links[chain.sent, default: []].append(chain)
                links[chain.received, default: []].append(chain)
            }
        }
        if records.count >= capacity { forgetOldest() }
        order.append(record.id)
        if let parent = record.parent { children[parent, default: []].append(record.id) }
        records.set(record)
    }

    /// `record` with its ancestors above and its descendants below, in
    /// request order, each with its depth from the first hop seen.
    public func chain(for record: RequestRecord, maxChildren: Int = 8) -> HopChain {
        let sent = (links[record.id] ?? []).filter { $0.received == record.id }
        if !sent.isEmpty { return brokerChain(received: record, sent, maxSenders: maxChildren) }
        var root = record
        var seen: Set<UInt64> = [record.id]
        while let parentID = root.parent, let parent = records[parentID], seen.insert(parentID).inserted {
            root = parent
        }
        var hops: [HopChain.Hop] = []
        var visited: Set<UInt64> = []
        func visit(_ r: RequestRecord, depth: Int) {
            guard visited.insert(r.id).inserted else { return }
            hops.append(HopChain.Hop(record: r, depth: depth, isFocus: r.id == record.id))
            let kids = (children[r.id] ?? []).compactMap { records[$0] }.sorted { $0.start < $1.start }
            for kid in kids.prefix(maxChildren) { visit(kid, depth: depth + 1) }
            if kids.count > maxChildren {
                hops.append(HopChain.Hop(record: nil, depth: depth + 1, isFocus: false, omitted: kids.count - maxChildren))
            }
            let receivers = (links[r.id] ?? []).filter { $0.sent == r.id }
            for link in receivers.prefix(maxChildren) {
                guard let receiver = records[link.received] else { continue }
                hops.append(HopChain.Hop(record: receiver, depth: depth + 1, isFocus: receiver.id == record.id, link: link))
            }
            if receivers.count > maxChildren {
                hops.append(HopChain.Hop(record: nil, depth: depth + 1, isFocus: false, omitted: receivers.count - maxChildren))
            }
        }
        visit(root, depth: 0)
        return HopChain(hops: hops, parentMissing: root.parent != nil)
    }

    /// A Kafka fetch (AMQP delivery) below the produces of the batches it carried (the publish of its message), each with its chain.
    private func brokerChain(received: RequestRecord, _ sent: [BrokerChain], maxSenders: Int) -> HopChain {
        var hops = sent.prefix(maxSenders).compactMap { link in
            records[link.sent].map { HopChain.Hop(record: $0, depth: 0, isFocus: false, link: link) }
        }
        if sent.count > maxSenders {
            hops.append(HopChain.Hop(record: nil, depth: 0, isFocus: false, omitted: sent.count - maxSenders))
        }
        hops.append(HopChain.Hop(record: received, depth: 1, isFocus: true))
        return HopChain(hops: hops, parentMissing: false)
    }

    private mutating func forgetOldest() {
        let id = order[orderStart]
        orderStart += 1
        if orderStart > 4096 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
        if let chains = links.removeValue(forKey: id) {
            for chain in chains {
                let other = chain.sent == id ? chain.received : chain.sent
                links[other]?.removeAll { $0 == chain }
                if links[other]?.isEmpty == true { links[other] = nil }
            }
        }
        if let record = records.removeValue(forKey: id), let parent = record.parent {
            children[parent]?.removeAll { $0 == id }
            if children[parent]?.isEmpty == true { children[parent] = nil }
        }
    }
}

/// One request's place in the pipeline: the hops from the first request seen
/// down through every request made to serve it.
public struct HopChain: Sendable {
    public struct Hop: Sendable {
        /// Nil for a line that stands for `omitted` further children.
        public var record: RequestRecord?
        public var depth: Int
        /// The record the chain was asked for.
        public var isFocus: Bool
        public var omitted = 0
        /// The broker chain that links the hop to the other end of a batch or
        /// message (a fetch or delivery below its produce or publish, or a
        /// produce or publish above the fetch or delivery asked for).
        public var link: BrokerChain? = nil

        public var kafka: KafkaChain? { link?.kafka }
        public var amqp: AMQPChain? { link?.amqp }
    }

    public var hops: [Hop]
    /// The first hop shown has a parent that was not seen (forgotten or outside the filters).
    public var parentMissing: Bool
}
