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
///
/// With `Retention.chainsOfShown` (what `stat` uses) the index keeps only
/// what a shown record's chain can need: the caller says, as it adds each
/// record, whether it will show it (it entered a top list). A tree (a first
/// hop and every request made below it) is complete when its first hop
/// arrives, since requests complete before the one they serve: a tree with
/// a shown record, or one that becomes shown later, is kept for the whole
/// run and never forgotten by age; any other tree is let go then, except
/// its first hop, held among the last `recentRoots` for children that
/// complete after it. So memory follows the requests still open and the
/// shown trees, not the length of the window.
public struct HopIndex: Sendable {
    public enum Retention: Sendable {
        /// Every record that can be a hop, the oldest forgotten beyond `capacity`.
        case everything
        /// The trees of the records added as shown (and broker ends, as `everything`).
        case chainsOfShown
    }

    public let capacity: Int
    public let retention: Retention
    private var records = RecordsByID()
    private var children: [UInt64: [UInt64]] = [:]
    private var brokers = BrokerChainMatcher()
    /// Broker chains by the ids of both their ends.
    private var links: [UInt64: [BrokerChain]] = [:]
    /// Ids by arrival, for forgetting the oldest (with ids already let go, skipped).
    private var order: [UInt64] = []
    private var orderStart = 0
    /// Records of shown trees: never forgotten by age.
    private var pinned: Set<UInt64> = []
    /// First hops of trees let go, kept a while for children completing after them.
    private var roots: [UInt64] = []
    private var rootsNext = 0
    static let recentRoots = 4096

    public init(capacity: Int = 200_000, retention: Retention = .everything) {
        self.capacity = max(1, capacity)
        self.retention = retention
    }

    /// Records kept now.
    public var count: Int { records.count }

    /// `shown`: the caller will ask for this record's chain (`chainsOfShown`).
    public mutating func add(_ record: consuming RequestRecord, shown: Bool = false) {
        let mayLink = BrokerChainMatcher.mayLink(record)
        guard record.parent != nil || record.side != .client || mayLink else { return }
        if mayLink {
            for chain in brokers.add(record) {
                links[chain.sent, default: []].append(chain)
                links[chain.received, default: []].append(chain)
            }
        }
        let id = record.id, parent = record.parent
        if records.count - pinned.count >= capacity { forgetOldest() }
        order.append(id)
        if let parent { children[parent, default: []].append(id) }
        records.set(record)
        guard retention == .chainsOfShown else { return }
        if shown || parent.map(pinned.contains) == true || (children[id] ?? []).contains(where: pinned.contains) {
            pin(treeOf: id)
        } else if parent == nil && !mayLink {
            letGo(treeBelow: id)
        }
        if order.count - orderStart > 2 * records.count + 4096 { compactOrder() }
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
        while orderStart < order.count {
            let id = order[orderStart]
            orderStart += 1
            if records.contains(id), !pinned.contains(id) {
                forget(id)
                break
            }
        }
        if orderStart > 4096 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    /// Drops ids already let go or pinned from the arrival order.
    private mutating func compactOrder() {
        order = order[orderStart...].filter { records.contains($0) && !pinned.contains($0) }
        orderStart = 0
    }

    private mutating func forget(_ id: UInt64) {
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

    /// Pins every record of `id`'s tree as far as it is known: up to its first hop, and all below.
    private mutating func pin(treeOf id: UInt64) {
        var root = id
        var seen: Set<UInt64> = [id]
        while let parent = records.parent(of: root), records.contains(parent), seen.insert(parent).inserted { root = parent }
        var stack = [root]
        while let next = stack.popLast() {
            guard pinned.insert(next).inserted else { continue }
            stack += children[next] ?? []
        }
    }

    /// A first hop arrived and nothing in its tree is shown: the requests below it go, and it
    /// stays among the recent first hops (a child completing after it still finds it); the
    /// oldest of those goes with what arrived below it since.
    private mutating func letGo(treeBelow root: UInt64) {
        forget(treeOf: root, keepingRoot: true)
        if roots.count < Self.recentRoots {
            roots.append(root)
        } else {
            forget(treeOf: roots[rootsNext], keepingRoot: false)
            roots[rootsNext] = root
            rootsNext = (rootsNext + 1) % Self.recentRoots
        }
    }

    /// Forgets `root`'s tree but for its pinned records and broker ends (aged out as `everything` does).
    private mutating func forget(treeOf root: UInt64, keepingRoot: Bool) {
        var stack = [root]
        while let next = stack.popLast() {
            stack += children[next] ?? []
            if (keepingRoot && next == root) || pinned.contains(next) || records.mayLink(next) { continue }
            forget(next)
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
