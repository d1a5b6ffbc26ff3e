/// Recent record batches per topic partition, by base offset, each with a
/// value (what produced or fetched it). What the Kafka chain matcher and
/// the lag age look batches up in.
public typealias ProducedBatches<Value: Sendable> = RecentWindows<TopicPartition, Value>

/// Recent entries per key (a Kafka partition's batches by base offset, an
/// AMQP destination's messages by a hash of what identifies them), each
/// with a value. Pure and bounded:
///
/// - per partition a window of the last `batchesPerPartition` batches (the
///   oldest is overwritten; counted in `batchesDropped`);
/// - at most `maxPartitions` partitions; past it one is evicted (counted in
///   `partitionsEvicted`), by the clock algorithm: partitions in order of
///   first tracking, one used again since it was last passed gets a second
///   chance, so a flood of new partitions pushes out the idle ones first
///   and an eviction costs O(1) amortized, not a scan.
public struct RecentWindows<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    public struct Batch: Sendable {
        public var base: Int64
        /// Records in the batch, when counted.
        public var records: UInt32?
        public var value: Value

        /// Whether `offset` falls in the batch (only its base when the records were not counted).
        func contains(_ offset: Int64) -> Bool {
            offset == base || (records.map { offset > base && offset < base &+ Int64($0) } ?? false)
        }
    }

    struct Window: Sendable {
        var batches: [Batch] = []
        /// How many of `batches` have each base: what `count` and `take` answer from
        /// without scanning a window (an AMQP destination's holds 1024 messages).
        var bases: [Int64: Int] = [:]
        /// Where the next batch goes once the window is full.
        var next = 0
        var touched = false
    }

    public let maxPartitions: Int
    public let batchesPerPartition: Int
    public private(set) var partitionsEvicted: UInt64 = 0
    public private(set) var batchesDropped: UInt64 = 0
    private var windows: [Key: Window] = [:]
    /// The clock's hand runs over `order` from `hand`.
    private var order: [Key] = []
    private var hand = 0

    public init(maxPartitions: Int = 10_000, batchesPerPartition: Int = 64) {
        self.maxPartitions = max(1, maxPartitions)
        self.batchesPerPartition = max(1, batchesPerPartition)
    }

    /// Partitions tracked now.
    public var partitionCount: Int { windows.count }

    public mutating func add(_ base: Int64, records: UInt32?, _ value: Value, to key: Key) {
        let batch = Batch(base: base, records: records, value: value)
        // A partition is touched when used again, not when first tracked: else the hand's
        // first pass would clear every flag at once and evict in plain order of arrival.
        let isNew = windows[key] == nil
        if isNew {
            if windows.count >= maxPartitions { evictOne() }
            order.append(key)
            windows[key] = Window()
        }
        let limit = batchesPerPartition
        var dropped = false
        update(key) { w in
            w.touched = !isNew
            w.bases[base, default: 0] += 1
            if w.batches.count < limit {
                w.batches.append(batch)
            } else {
                let old = w.batches[w.next].base
                if w.bases[old] == 1 { w.bases[old] = nil } else { w.bases[old]! -= 1 }
                w.batches[w.next] = batch
                w.next = (w.next + 1) % limit
                dropped = true
            }
        }
        if dropped { batchesDropped += 1 }
    }

    /// The latest batch of `key` with base offset `base`.
    public mutating func batch(startingAt base: Int64, in key: Key) -> Batch? {
        guard count(base, in: key) > 0 else { return nil }
        return find(key) { $0.base == base }
    }

    /// The latest batch of `key` that holds `offset`.
    public mutating func batch(containing offset: Int64, in key: Key) -> Batch? {
        find(key) { $0.contains(offset) }
    }

    /// How many batches of `key` have base offset `base`.
    public func count(_ base: Int64, in key: Key) -> Int {
        windows[key]?.bases[base] ?? 0
    }

    /// Removes and returns the batches of `key` with base offset `base`.
    public mutating func take(_ base: Int64, from key: Key) -> [Batch] {
        guard count(base, in: key) > 0 else { return [] }
        var taken: [Batch] = []
        update(key) { w in
            // Oldest first again, so the window, no longer full, appends at its end.
            w.batches = Array(w.batches[w.next...] + w.batches[..<w.next])
            w.next = 0
            taken = w.batches.filter { $0.base == base }
            w.batches.removeAll { $0.base == base }
            w.bases[base] = nil
        }
        return taken
    }

    private mutating func find(_ key: Key, _ match: (Batch) -> Bool) -> Batch? {
        guard let w = windows[key] else { return nil }
        // Newest first: from the slot before `next` backwards, wrapping.
        let n = w.batches.count
        let newest = w.batches.count < batchesPerPartition ? n - 1 : (w.next + n - 1) % n
        for step in 0..<n {
            let batch = w.batches[(newest - step + n) % n]
            if match(batch) {
                update(key) { $0.touched = true }
                return batch
            }
        }
        return nil
    }

    private mutating func update(_ key: Key, _ change: (inout Window) -> Void) {
        guard windows[key] != nil else { return }
        change(&windows[key]!)
    }

    private mutating func evictOne() {
        while hand < order.count {
            let key = order[hand]
            hand += 1
            guard windows[key] != nil else { continue }
            if windows[key]!.touched {
                windows[key]!.touched = false
                order.append(key)
                continue
            }
            windows[key] = nil
            partitionsEvicted += 1
            break
        }
        if hand > 4096 && hand * 2 > order.count {
            order.removeFirst(hand)
            hand = 0
        }
    }
}

/// A Kafka topic partition by name.
public struct TopicPartition: Hashable, Sendable {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
}
