import ExporterCore
import Foundation

/// Batches a sink could not deliver yet, on disk, oldest first: one file
/// per batch named `<sequence>-<points>.batch`, so the order and what a
/// drop costs are known without reading it. Bounded by bytes and files;
/// when a new batch does not fit, the oldest are dropped to make room
/// (recent data is worth more on a dashboard) and counted by the caller.
/// Files written by an earlier run are replayed first.
public struct SpoolDirectory: Sendable {
    public struct Limits: Sendable, Hashable {
        public var maxBytes: Int
        public var maxBatches: Int

        public init(maxBytes: Int = 256 << 20, maxBatches: Int = 10_000) {
            self.maxBytes = maxBytes
            self.maxBatches = maxBatches
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    struct Entry: Sendable {
        var sequence: UInt64
        var points: Int
        var bytes: Int
    }

    public let directory: String
    public let limits: Limits
    private var entries: [Entry] = []
    public private(set) var bytes = 0

    /// Opens (creating if needed) the directory and lists what an earlier run left.
    public init(directory: String, limits: Limits) throws(Failure) {
        self.directory = directory
        self.limits = limits
        // 0700, files 0600: the batches hold what was traced.
        do { try PrivateFile.makeDirectory(directory) } catch { throw Failure(description: "spool directory: \(error)") }
        do {
            for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".batch") {
                let parts = name.dropLast(6).split(separator: "-")
                guard parts.count == 2, let sequence = UInt64(parts[0]), let points = Int(parts[1]) else { continue }
                let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0
                entries.append(Entry(sequence: sequence, points: points, bytes: size))
            }
        } catch {
            throw Failure(description: "spool directory \(directory): \(error.localizedDescription)")
        }
        entries.sort { $0.sequence < $1.sequence }
        bytes = entries.reduce(0) { $0 + $1.bytes }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    /// The sequence after the newest spooled batch (0 when empty).
    public var nextSequence: UInt64 { (entries.last?.sequence ?? 0) &+ (entries.isEmpty ? 0 : 1) }
    public var oldestSequence: UInt64? { entries.first?.sequence }
    public var oldestPoints: Int? { entries.first?.points }

    func path(_ e: Entry) -> String { directory + "/" + String(format: "%020llu-%d.batch", e.sequence, e.points) }

    /// Writes a batch after the others; returns the batches dropped to make room
    /// (the batch itself when it alone is over the limit). Throws when the write fails.
    public mutating func append(_ batch: ExportBatch) throws(Failure) -> [ExportBatch] {
        var dropped: [ExportBatch] = []
        if batch.body.count > limits.maxBytes || limits.maxBatches == 0 { return [batch] }
        while !entries.isEmpty, bytes + batch.body.count > limits.maxBytes || entries.count + 1 > limits.maxBatches {
            let e = entries.removeFirst()
            bytes -= e.bytes
            try? FileManager.default.removeItem(atPath: path(e))
            dropped.append(ExportBatch(sequence: e.sequence, body: [], points: e.points))
        }
        let entry = Entry(sequence: batch.sequence, points: batch.points, bytes: batch.body.count)
        // Written under a temporary name and renamed, so a crash never leaves half a batch to replay.
        let temporary = directory + "/.incoming"
        do {
            try PrivateFile.write(batch.body, to: temporary)
        } catch {
            throw Failure(description: "cannot write a batch to \(directory): \(error)")
        }
        guard rename(temporary, path(entry)) == 0 else { throw Failure(description: "cannot write a batch to \(directory)") }
        entries.append(entry)
        bytes += entry.bytes
        return dropped
    }

    /// The oldest batch, read back.
    public func oldest() throws(Failure) -> ExportBatch? {
        guard let e = entries.first else { return nil }
        guard let data = FileManager.default.contents(atPath: path(e)) else {
            throw Failure(description: "cannot read \(path(e))")
        }
        return ExportBatch(sequence: e.sequence, body: [UInt8](data), points: e.points)
    }

    /// Deletes a batch (delivered or given up).
    public mutating func remove(sequence: UInt64) {
        guard let i = entries.firstIndex(where: { $0.sequence == sequence }) else { return }
        let e = entries.remove(at: i)
        bytes -= e.bytes
        try? FileManager.default.removeItem(atPath: path(e))
    }

    public func contains(sequence: UInt64) -> Bool { entries.contains { $0.sequence == sequence } }
}
