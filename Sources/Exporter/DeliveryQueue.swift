import ExporterCore
import Foundation

/// A sink's backlog, in order: the spool on disk (older) then a bounded
/// queue in memory (newer). The producer (the tracing loop) appends; the
/// sink's sender thread takes the oldest batch, and a batch leaves only
/// once it is delivered or given up, so a crash or an outage loses nothing
/// that fits in the spool. When memory is full, or sending keeps failing,
/// batches move to the spool; when the spool is full its oldest batches
/// are dropped and counted by reason.
///
/// A class: the producer and the sender thread share it, under one lock.
public final class DeliveryQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var memory: [ExportBatch] = []
    private var spool: SpoolDirectory
    private var nextSequence: UInt64
    private var health = SinkHealth()
    private var consecutiveFailures = 0
    private var deadline: Double?
    /// Batches kept in memory before the oldest goes to disk.
    public let maxMemoryBatches: Int
    /// Consecutive failures after which everything in memory is spooled.
    public let spillAfterFailures: Int

    public init(spool: SpoolDirectory, maxMemoryBatches: Int = 16, spillAfterFailures: Int = 3) {
        self.spool = spool
        self.maxMemoryBatches = max(0, maxMemoryBatches)
        self.spillAfterFailures = max(1, spillAfterFailures)
        nextSequence = spool.nextSequence
        refreshGauges()
    }

    /// Appends a body; returns its sequence number.
    @discardableResult
    public func append(body: [UInt8], points: Int) -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        let batch = ExportBatch(sequence: nextSequence, body: body, points: points)
        nextSequence += 1
        memory.append(batch)
        while memory.count > maxMemoryBatches { spillOldest() }
        refreshGauges()
        condition.signal()
        return batch.sequence
    }

    /// The oldest batch not yet delivered, waiting for one; nil once the
    /// queue is stopping and empty, or its deadline has passed.
    func next() -> ExportBatch? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let deadline, Self.now() >= deadline { return nil }
            while !spool.isEmpty {
                do {
                    if let batch = try spool.oldest() { return batch }
                } catch {
                    // Unreadable (removed by hand, disk error): give it up, counted.
                    if let sequence = spool.oldestSequence {
                        health.droppedPoints["spool_io", default: 0] += UInt64(spool.oldestPoints ?? 0)
                        spool.remove(sequence: sequence)
                    }
                }
            }
            if let first = memory.first { return first }
            if deadline != nil { return nil }
            _ = condition.wait(until: Date(timeIntervalSinceNow: 1))
        }
    }

    /// The receiver accepted the batch.
    func delivered(_ batch: ExportBatch) {
        condition.lock()
        defer { condition.unlock() }
        remove(batch.sequence)
        health.sentPoints += UInt64(batch.points)
        consecutiveFailures = 0
        refreshGauges()
    }

    /// The receiver refused the batch for good (a 4xx): it is dropped, counted.
    func rejected(_ batch: ExportBatch, reason: String) {
        condition.lock()
        defer { condition.unlock() }
        remove(batch.sequence)
        health.droppedPoints[reason, default: 0] += UInt64(batch.points)
        refreshGauges()
    }

    /// An attempt failed and will be retried; after a few in a row, memory goes to disk.
    func failed(reason: String) {
        condition.lock()
        defer { condition.unlock() }
        health.errors[reason, default: 0] += 1
        consecutiveFailures += 1
        if consecutiveFailures >= spillAfterFailures {
            while !memory.isEmpty { spillOldest() }
        }
        refreshGauges()
    }

    /// Waits up to `seconds` (less if the deadline comes first); true if stopping.
    func pause(_ seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        var until = Self.now() + seconds
        if let deadline { until = min(until, deadline) }
        while Self.now() < until {
            _ = condition.wait(until: Date(timeIntervalSinceNow: until - Self.now()))
        }
        if let deadline { return Self.now() >= deadline }
        return false
    }

    /// From now on, `next()` returns nil when empty or after `seconds`.
    func stop(within seconds: Double) {
        condition.lock()
        deadline = Self.now() + seconds
        condition.broadcast()
        condition.unlock()
    }

    /// Moves everything still in memory to the spool (at exit: the next run replays it).
    public func spillAll() {
        condition.lock()
        defer { condition.unlock() }
        while !memory.isEmpty { spillOldest() }
        refreshGauges()
    }

    public var snapshot: SinkHealth {
        condition.lock()
        defer { condition.unlock() }
        return health
    }

    // Called with the lock held.
    private func spillOldest() {
        let batch = memory.removeFirst()
        do {
            for dropped in try spool.append(batch) {
                health.droppedPoints["spool_full", default: 0] += UInt64(dropped.points)
            }
        } catch {
            health.droppedPoints["spool_io", default: 0] += UInt64(batch.points)
        }
    }

    private func remove(_ sequence: UInt64) {
        if let i = memory.firstIndex(where: { $0.sequence == sequence }) {
            memory.remove(at: i)
        } else {
            spool.remove(sequence: sequence)
        }
    }

    private func refreshGauges() {
        health.queueDepth = memory.count
        health.spoolBatches = spool.count
        health.spoolBytes = spool.bytes
    }

    static func now() -> Double { Date().timeIntervalSince1970 }
}
