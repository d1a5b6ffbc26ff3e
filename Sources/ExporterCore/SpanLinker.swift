import Analyzer

/// Gives each request record its OTLP trace and span ids, so that a hop
/// chain (a record and its `parent`s) is one trace. Pure: records and the
/// caller's clock in, `OTLPSpan`s out.
///
/// The analyzer emits a record when its exchange completes, and a request
/// a server makes while serving another completes first: a child usually
/// arrives before its parent, knowing the parent's id but not the
/// grandparent's. So a record whose parent has not been seen is held until
/// it is (then the chain takes the root's trace id), for at most `hold`
/// nanoseconds; after that it is released with the trace id of the
/// root-most id known, and that id is pinned to the trace, so the parent,
/// when it comes late, joins its children's trace (the link above it is
/// then kept only as a parent span id in another trace).
///
/// A Kafka Fetch that carried a batch whose Produce was seen (or that
/// Produce, when the fetch completed first), and an AMQP delivery whose
/// message's publish was seen (or the other way round), gets a span link to
/// the other (`BrokerChainMatcher`, `OTLPSpanLink`): a message's producer and
/// consumer are in different traces, joined by links as the messaging conventions do.
///
/// A record seen from both ends is two spans, CLIENT then SERVER (see
/// `OTLPSpan`). Ids: span id = a hash of (`salt`, record id), the CLIENT
/// span of a two-span record another hash of them; trace id = a hash of
/// (`salt`, root record id). The salt is random per run (record ids restart
/// at 1 with every analyzer), fixed in tests.
public struct SpanLinker: Sendable {
    struct Held: Sendable {
        var record: RequestRecord
        var arrival: Int64
        /// Order of arrival, for ties on the clock.
        var sequence: UInt64
        var links: [OTLPSpanLink] = []
    }

    /// Record id → root id for records already linked (and pinned ids),
    /// direct-mapped: an id's slot is its low bits, so a look-up is one
    /// array read, with no hashing, and once the table has its full size an
    /// id is forgotten when the id `capacity` above it takes its slot. The
    /// analyzer numbers records as their requests start, so the ids
    /// forgotten are the oldest: a late child finds its parent unless
    /// `capacity` requests started between them. The table starts small
    /// and doubles while an id would push out another.
    struct Roots: Sendable {
        struct Slot: Sendable {
            var id: UInt64 = 0
            var root: UInt64 = 0
            var used = false
        }

        private var slots = [Slot](repeating: Slot(), count: 1024)
        private var mask = 1023
        /// The size it grows to: `capacity` rounded up to a power of two.
        let capacity: Int

        init(capacity: Int) {
            var size = 1
            while size < capacity { size <<= 1 }
            self.capacity = size
            if size < slots.count {
                slots = [Slot](repeating: Slot(), count: size)
                mask = size - 1
            }
        }

        subscript(id: UInt64) -> UInt64? {
            let slot = slots[Int(truncatingIfNeeded: id) & mask]
            return slot.used && slot.id == id ? slot.root : nil
        }

        mutating func set(_ id: UInt64, root: UInt64) {
            while slots[Int(truncatingIfNeeded: id) & mask].used, slots[Int(truncatingIfNeeded: id) & mask].id != id,
                  slots.count < capacity {
                // Twice the size: the ids of two slots never share a slot of the larger table.
                let old = slots
                slots = [Slot](repeating: Slot(), count: old.count * 2)
                mask = slots.count - 1
                for slot in old where slot.used { slots[Int(truncatingIfNeeded: slot.id) & mask] = slot }
            }
            slots[Int(truncatingIfNeeded: id) & mask] = Slot(id: id, root: root, used: true)
        }
    }

    public let salt: UInt64
    /// How long a child waits for its parent (nanoseconds).
    public var hold: Int64
    /// Records held at most; past it, all are released as if expired.
    public var maxHeld: Int
    /// Ids of linked records remembered for their late children (see `Roots`; rounded up to a power of two).
    public let maxRemembered: Int

    private var roots: Roots
    /// Held records by the parent id they wait for, and each held id's parent.
    private var waiting: [UInt64: [Held]] = [:]
    private var heldParent: [UInt64: UInt64] = [:]
    private var sequence: UInt64 = 0
    private var brokers = BrokerChainMatcher()

    public init(salt: UInt64, hold: Int64 = 5_000_000_000, maxHeld: Int = 10_000, maxRemembered: Int = 65_536) {
        self.salt = salt
        self.hold = hold
        self.maxHeld = maxHeld
        self.maxRemembered = maxRemembered
        roots = Roots(capacity: maxRemembered)
    }

    /// Records waiting for their parent.
    public var heldCount: Int { heldParent.count }

    /// Takes a record at `now` (any clock, nanoseconds); returns the spans it completes (it and its held descendants).
    public mutating func add(_ record: RequestRecord, now: Int64) -> [OTLPSpan] {
        var out: [OTLPSpan] = []
        add(record, now: now, into: &out)
        return out
    }

    /// `add`, handing the spans to `out` one by one (no array per record;
    /// the sink's batch encodes each as it comes, so none is stored).
    /// The record is taken, not copied: its spans are made of it.
    public mutating func add<Sink: SpanSink>(_ record: consuming RequestRecord, now: Int64, into out: inout Sink) {
        let id = record.id
        let links = BrokerChainMatcher.mayLink(record) ? brokerLinks(record) : []
        if let root = roots[id] {
            // Pinned by children released before it came.
            link(record, root: root, links: links, into: &out)
        } else if let parent = record.parent {
            if let root = roots[parent] {
                link(record, root: root, links: links, into: &out)
            } else {
                sequence += 1
                waiting[parent, default: []].append(Held(record: record, arrival: now, sequence: sequence, links: links))
                heldParent[id] = parent
                if heldParent.count > maxHeld {
                    for span in expire(now: .max) { out.take(span) }
                }
            }
        } else {
            link(record, root: record.id, links: links, into: &out)
        }
    }

    /// The links of a Kafka or AMQP record to the spans of the other ends of
    /// the chains it completes, where that span was linked (its trace known).
    private mutating func brokerLinks(_ record: RequestRecord) -> [OTLPSpanLink] {
        brokers.add(record).compactMap { chain in
            let isReceiver = chain.received == record.id
            let other = isReceiver ? chain.sent : chain.received
            guard let root = roots[other] else { return nil }
            return OTLPSpanLink(trace: trace(root), span: span(other), chain: chain, operation: isReceiver ? "publish" : "receive")
        }
    }

    /// Releases records held since before `now - hold`, in the trace of the root-most id known.
    public mutating func expire(now: Int64) -> [OTLPSpan] {
        var out: [OTLPSpan] = []
        let cutoff = now == .max ? .max : now - hold
        let expired = waiting.values.flatMap { $0 }.filter { $0.arrival <= cutoff }.sorted { $0.sequence < $1.sequence }
        for held in expired where heldParent[held.record.id] != nil {
            var top = held.record.parent!
            while let up = heldParent[top] { top = up }
            pin(top, root: top, into: &out)
        }
        return out
    }

    /// Releases everything held (at exit).
    public mutating func drain() -> [OTLPSpan] { expire(now: .max) }

    /// The span id of a record id: 8 bytes, never all zero.
    public func spanID(_ id: UInt64) -> [UInt8] { OTLPSpan.bytes(span(id)) }

    /// The span id of the CLIENT span of a record seen from both ends: 8
    /// bytes, never all zero, apart from every `spanID` (another salt).
    public func clientSpanID(_ id: UInt64) -> [UInt8] { OTLPSpan.bytes(clientSpan(id)) }

    /// The trace id of a chain whose root-most record id is `root`: 16 bytes.
    public func traceID(_ root: UInt64) -> [UInt8] {
        let t = trace(root)
        return OTLPSpan.bytes(t.high, t.low)
    }

    func span(_ id: UInt64) -> UInt64 { max(1, Self.mix(salt &+ id)) }

    func clientSpan(_ id: UInt64) -> UInt64 { max(1, Self.mix((salt ^ 0x636c_6965_6e74_7370) &+ id)) }

    func trace(_ root: UInt64) -> OTLPSpan.TraceID {
        let high = Self.mix(salt ^ 0x7472_6163_6570_6970 &+ root)
        return OTLPSpan.TraceID(high: high, low: max(1, Self.mix(high &+ root)))
    }

    /// A record's spans: one for a record seen from one end; for one seen
    /// from both, a CLIENT span under the parent and a SERVER span under it.
    /// The record's own id names its SERVER span (or its only span), so its
    /// children, found through the server's view, hang under the server.
    /// The record moves into the span (one span value serves both of a
    /// two-span record): copying a record retains each of its strings.
    /// Broker chain links go on its first span.
    private mutating func link<Sink: SpanSink>(_ record: consuming RequestRecord, root: UInt64, links: [OTLPSpanLink] = [],
                                               into out: inout Sink) {
        let id = record.id, side = record.side
        let parent = record.parent.map(span) ?? 0
        var linked = OTLPSpan(record: record, kind: side == .server ? .server : .client, trace: trace(root),
                              span: side == .both ? clientSpan(id) : span(id), parent: parent)
        linked.links = links
        out.take(linked)
        if side == .both {
            (linked.kind, linked.parent, linked.span, linked.links) = (.server, linked.span, span(id), [])
            out.take(linked)
        }
        pin(id, root: root, into: &out)
    }

    /// Remembers `id`'s root and links the records waiting for it.
    private mutating func pin<Sink: SpanSink>(_ id: UInt64, root: UInt64, into out: inout Sink) {
        roots.set(id, root: root)
        // Most records have no child waiting: no hashing then.
        guard !waiting.isEmpty, let children = waiting.removeValue(forKey: id) else { return }
        for child in children {
            heldParent[child.record.id] = nil
            link(child.record, root: root, links: child.links, into: &out)
        }
    }

    /// splitmix64's finalizer: a bijection, so distinct ids give distinct span ids.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Where `SpanLinker` puts the spans it links, one at a time: an array of
/// them, or a batch that encodes each as it comes (`OTLPSink`), so a span
/// is never copied into storage only to be read back at once.
public protocol SpanSink {
    mutating func take(_ span: borrowing OTLPSpan)
}

extension Array: SpanSink where Element == OTLPSpan {
    public mutating func take(_ span: borrowing OTLPSpan) { append(copy span) }
}
