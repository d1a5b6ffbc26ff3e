import Foundation
import Packets

/// Reads back the packets of a Tracee-style JSON capture (`pipetrace
/// capture -o`, or Tracee's own `-o json` with `net_packet_raw` events), so
/// `pipetrace analyze` treats it like a pcap. Pure: one line in, one result
/// out. Lines are attacker-controlled input: anything unexpected is a
/// `.malformed` result, never a crash.
public enum TraceeJSONReader {
    public enum Line: Sendable, Equatable {
        /// A `net_packet_raw` event: the packet from its IP header, wall-clock time.
        case packet(CapturedPacket)
        /// A valid event of another kind (requests, flows, retransmits): not packets.
        case otherEvent
        case malformed(String)
    }

    /// Whether a file that starts with these bytes is a JSON capture (not pcap or pcapng).
    public static func looksLikeJSON(_ prefix: some Collection<UInt8>) -> Bool {
        prefix.first { $0 != 0x20 && $0 != 0x0a && $0 != 0x0d && $0 != 0x09 } == UInt8(ascii: "{")
    }

    public static func read(_ line: [UInt8]) -> Line {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            return .malformed("not a JSON object")
        }
        guard let name = object["eventName"] as? String else { return .malformed("no eventName") }
        guard name == "net_packet_raw" else { return .otherEvent }
        guard let timestamp = (object["timestamp"] as? NSNumber)?.int64Value, timestamp >= 0 else {
            return .malformed("net_packet_raw without an integer timestamp")
        }
        let args = object["args"] as? [[String: Any]] ?? []
        guard let data = args.first(where: { $0["name"] as? String == "data" })?["value"] as? String else {
            return .malformed("net_packet_raw without its data argument")
        }
        guard let bytes = Base64.decode(Array(data.utf8)), !bytes.isEmpty else {
            return .malformed("net_packet_raw data is not base64")
        }
        return .packet(CapturedPacket(timestamp: UInt64(timestamp), linkType: .raw, bytes: bytes,
                                      originalLength: max(bytes.count, wireLength(bytes) ?? 0)))
    }

    /// The packet's length on the wire from its IP header: the JSON keeps
    /// only the captured bytes, which the snap length may have cut.
    static func wireLength(_ ip: [UInt8]) -> Int? {
        guard let first = ip.first else { return nil }
        switch first >> 4 {
        case 4 where ip.count >= 4: return Int(ip[2]) << 8 | Int(ip[3])
        case 6 where ip.count >= 6: return 40 + (Int(ip[4]) << 8 | Int(ip[5]))
        default: return nil
        }
    }
}
